import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { Request, Router } from 'express';
import { FaultRule, Faults, SandboxService } from './faults';
import { GitRepos } from './git';

/** What each fake provides to the server. */
export interface SandboxFake {
  /** Names a request's operation for fault rules and the operation log. */
  operationOf(req: Request): string;
  router: Router;
  /** Admin routes of this fake (`/__admin/<service>/...`), served without fault rules. */
  admin?: Router;
  /** Creates the state of `services` directly (`POST /__admin/seed`). */
  seed?(services: SeedService[]): Promise<void>;
  /** Stops timers and closes its database. */
  close?(): void | Promise<void>;
}

/** One service's worth of state for `POST /__admin/seed`. */
export interface SeedService {
  /** The service name (`payments-api`, `svc-0001`). */
  name: string;
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
  /**
   * The token that may do everything: the GitLab fake's git over HTTP
   * accepts it for every repository (default `sandbox-token`, as in
   * app-config.yaml).
   */
  adminToken: string;
  /** The git repositories under `<dataDir>/git`, shared by GitLab (which serves them) and ArgoCD (which reads them). */
  repos: GitRepos;
}

export interface SandboxOptions {
  dataDir: string;
  /** See {@link SandboxEnv.adminToken}. */
  adminToken?: string;
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

/**
 * The admin API, served by every fake: faults, latency and hangs, the
 * operation log (with the requests hung right now), seeding, and each
 * fake's own admin routes.
 */
function adminRouter(faults: Faults, fakes: SandboxFake[]): Router {
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
    res.json({ operations: faults.log, hung: faults.hung() });
  });
  router.get('/__admin/trace', (_req, res) => {
    res.json({ requests: faults.trace });
  });
  router.get('/__admin/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.post('/__admin/seed', express.json(), (req, res, next) => {
    const body = (req.body ?? {}) as { count?: number; prefix?: string; names?: string[] };
    const names =
      body.names ??
      Array.from({ length: Math.max(0, Math.min(Number(body.count ?? 0), 100_000)) }, (_v, i) =>
        `${body.prefix ?? 'seed'}-${String(i + 1).padStart(5, '0')}`,
      );
    const bad = names.find(n => !/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(n));
    if (bad !== undefined) {
      res.status(400).json({ message: `invalid service name ${JSON.stringify(bad)}` });
      return;
    }
    const started = Date.now();
    const services = names.map(name => ({ name }));
    Promise.all(fakes.map(f => f.seed?.(services)))
      .then(() => res.json({ seeded: names.length, ms: Date.now() - started }))
      .catch(next);
  });
  for (const fake of fakes) if (fake.admin) router.use(fake.admin);
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

  const dataDir = path.resolve(options.dataDir);
  const env: SandboxEnv = {
    dataDir,
    urls,
    faults,
    adminToken: options.adminToken ?? 'sandbox-token',
    repos: new GitRepos(path.join(dataDir, 'git')),
  };
  const fakes = SERVICES.map(service => options.fakes[service](env));
  const admin = adminRouter(faults, fakes);
  SERVICES.forEach((service, i) => {
    const app = apps[service];
    app.use(admin);
    app.use(faults.middleware(service, fakes[i].operationOf));
    app.use(fakes[i].router);
  });

  return {
    urls,
    faults,
    close: async () => {
      faults.clear();
      await Promise.all(
        SERVICES.map(
          s =>
            new Promise<void>(resolve => {
              servers[s].closeAllConnections?.();
              servers[s].close(() => resolve());
            }),
        ),
      );
      for (const fake of fakes) await fake.close?.();
    },
  };
}
