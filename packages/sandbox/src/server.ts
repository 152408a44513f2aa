import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { Request, Router } from 'express';
import { FaultRule, Faults, SandboxService } from './faults';

/** What each fake provides to the server. */
export interface SandboxFake {
  /** Names a request's operation for fault rules and the operation log. */
  operationOf(req: Request): string;
  router: Router;
}

/** Builds one fake, given where everything lives. */
export type SandboxFakeFactory = (env: SandboxEnv) => SandboxFake;

/** Shared by all fakes of one sandbox. */
export interface SandboxEnv {
  /** State folder; each fake keeps its files below it. */
  dataDir: string;
  /** Base URLs of every fake, e.g. `http://127.0.0.1:7080`. */
  urls: Record<SandboxService, string>;
  faults: Faults;
}

export interface SandboxOptions {
  dataDir: string;
  /** Port per fake; 0 picks a free one. Defaults 7080-7083. */
  ports?: Partial<Record<SandboxService, number>>;
  host?: string;
  fakes: Record<SandboxService, SandboxFakeFactory>;
}

export interface RunningSandbox {
  urls: Record<SandboxService, string>;
  faults: Faults;
  close(): Promise<void>;
}

export const DEFAULT_PORTS: Record<SandboxService, number> = {
  gitlab: 7080,
  argocd: 7081,
  aws: 7082,
  kubernetes: 7083,
};

const SERVICES: SandboxService[] = ['gitlab', 'argocd', 'aws', 'kubernetes'];

/** The admin API, served by every fake: faults and latency, and the operation log. */
function adminRouter(faults: Faults): Router {
  const router = Router();
  router.get('/__admin/faults', (_req, res) => {
    res.json({ rules: faults.rules() });
  });
  router.post('/__admin/faults', express.json(), (req, res) => {
    const body = req.body as { rules?: FaultRule[] } | FaultRule;
    if ('rules' in body && Array.isArray(body.rules)) faults.set(body.rules);
    else faults.add(body as FaultRule);
    res.json({ rules: faults.rules() });
  });
  router.delete('/__admin/faults', (_req, res) => {
    faults.clear();
    res.status(204).end();
  });
  router.get('/__admin/log', (_req, res) => {
    res.json({ operations: faults.log });
  });
  router.get('/__admin/trace', (_req, res) => {
    res.json({ requests: faults.trace });
  });
  router.get('/__admin/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  return router;
}

/**
 * Starts every fake on its own port. The fakes are built after all ports
 * are bound, so each knows every other's URL (ArgoCD reads GitLab's repos).
 */
export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  const host = options.host ?? '127.0.0.1';
  const faults = new Faults();
  const servers = {} as Record<SandboxService, http.Server>;
  const apps = {} as Record<SandboxService, express.Express>;
  const urls = {} as Record<SandboxService, string>;

  for (const service of SERVICES) {
    const app = express();
    app.disable('x-powered-by');
    apps[service] = app;
    const server = http.createServer(app);
    const port = options.ports?.[service] ?? DEFAULT_PORTS[service];
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    servers[service] = server;
    urls[service] = `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  const env: SandboxEnv = { dataDir: path.resolve(options.dataDir), urls, faults };
  for (const service of SERVICES) {
    const fake = options.fakes[service](env);
    const app = apps[service];
    app.use(adminRouter(faults));
    app.use(faults.middleware(service, fake.operationOf));
    app.use(fake.router);
  }

  return {
    urls,
    faults,
    close: async () => {
      await Promise.all(
        SERVICES.map(
          s =>
            new Promise<void>(resolve => {
              servers[s].closeAllConnections?.();
              servers[s].close(() => resolve());
            }),
        ),
      );
    },
  };
}
