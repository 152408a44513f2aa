import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import yaml from 'yaml';
import { RunningSandbox, startDefaultSandbox } from '@internal/sandbox';
import {
  BackendProcess,
  freePort,
  startBackend,
  waitForReady,
} from './backendProcess';

export interface TaskResult {
  id: string;
  status: string;
  /** The completion message (the error for a failed task). */
  message?: string;
  output?: Record<string, any>;
  log: string[];
}

/** Where the portal keeps its database. */
export type PortalDatabase =
  | { client: 'sqlite' }
  /** PostgreSQL on 127.0.0.1:5432; backends with the same prefix share it. */
  | { client: 'pg'; prefix: string };

/** A sandbox on free ports with a fresh data folder. */
export async function startTestSandbox(dir: string): Promise<RunningSandbox> {
  return startDefaultSandbox({
    dataDir: path.join(dir, 'sandbox'),
    ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
  });
}

/** Drops every database whose name starts with `prefix` (PostgreSQL). */
export async function dropDatabases(prefix: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${prefix}%`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

export type Portal = Awaited<ReturnType<typeof startPortal>>;

/**
 * The local portal as `./scripts/dev` runs it (app-config.yaml, real
 * scaffolder and catalog), pointed at a sandbox on free ports, signed in as
 * the guest user. By default it brings its own sandbox and an on-disk SQLite
 * database; several portals can share one sandbox and one PostgreSQL
 * database, as replicas do.
 */
export async function startPortal(
  opts: {
    sandbox?: RunningSandbox;
    database?: PortalDatabase;
    /** Extra config merged last, e.g. shorter recovery timeouts. */
    config?: Record<string, unknown>;
  } = {},
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-e2e-'));
  const ownSandbox = !opts.sandbox;
  const sandbox = opts.sandbox ?? (await startTestSandbox(dir));
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const gitlabHost = new URL(sandbox.urls.gitlab).host;
  const database = opts.database ?? { client: 'sqlite' };
  const overlay = {
    // The backend serves the built frontend (packages/app/dist) itself.
    app: { baseUrl },
    backend: {
      baseUrl,
      listen: { port },
      cors: { origin: baseUrl },
      database:
        database.client === 'pg'
          ? {
              client: 'pg',
              prefix: database.prefix,
              connection: { host: '127.0.0.1', port: 5432, user: 'postgres' },
            }
          : {
              client: 'better-sqlite3',
              connection: { directory: path.join(dir, 'portal-data') },
            },
    },
    integrations: {
      gitlab: [{ host: gitlabHost, apiBaseUrl: `${sandbox.urls.gitlab}/api/v4`, baseUrl: sandbox.urls.gitlab, token: 'sandbox-token' }],
    },
    goldenPath: {
      gitlab: { host: gitlabHost },
      aws: { endpoint: sandbox.urls.aws },
      argocd: { url: sandbox.urls.argocd },
      kubernetes: { url: sandbox.urls.kubernetes },
    },
  };
  const overlayFile = path.join(dir, 'app-config.e2e.yaml');
  const extraFile = path.join(dir, 'app-config.extra.yaml');
  fs.writeFileSync(overlayFile, yaml.stringify(overlay));
  fs.writeFileSync(extraFile, yaml.stringify(opts.config ?? {}));

  let backend: BackendProcess;
  const start = async () => {
    backend = startBackend(['app-config.yaml', overlayFile, extraFile], { NODE_ENV: 'development' });
    await waitForReady(`${baseUrl}/.backstage/health/v1/readiness`, backend, 150_000);
  };
  await start();

  let token = '';
  /**
   * Signs in as the guest once the catalog knows the guest's team: until the
   * example org is ingested, the guest provider issues a token without
   * groups, which the permission policy denies everything.
   */
  const signIn = async () => {
    const end = Date.now() + 120_000;
    for (;;) {
      const { backstageIdentity } = await (
        await fetch(`${baseUrl}/api/auth/guest/refresh?env=development`)
      ).json();
      token = backstageIdentity.token;
      const refs: string[] = backstageIdentity.identity?.ownershipEntityRefs ?? [];
      if (refs.some(r => r.startsWith('group:'))) return;
      if (Date.now() > end) throw new Error(`the guest never got a team: ${refs.join(', ')}`);
      await new Promise(r => setTimeout(r, 500));
    }
  };
  await signIn();
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${p}`, {
      ...init,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        ...(init.headers as Record<string, string>),
      },
    });

  // The templates reach the scaffolder through the catalog.
  const deadline = Date.now() + 120_000;
  while ((await api('/api/catalog/entities/by-name/template/default/nodejs-service')).status !== 200) {
    if (Date.now() > deadline) throw new Error('template never appeared in the catalog');
    await new Promise(r => setTimeout(r, 500));
  }

  /**
   * A request function signed in as one of the example org's users, through
   * the local-only localUsers sign-in (app-config.yaml lists who).
   */
  const asUser = async (userEntityRef: string) => {
    const end = Date.now() + 120_000;
    let userToken = '';
    for (;;) {
      const res = await fetch(
        `${baseUrl}/api/auth/localUsers/refresh?env=development&user=${encodeURIComponent(userEntityRef)}`,
      );
      if (!res.ok) throw new Error(`sign-in as ${userEntityRef}: ${res.status} ${await res.text()}`);
      const { backstageIdentity } = await res.json();
      userToken = backstageIdentity.token;
      const refs: string[] = backstageIdentity.identity?.ownershipEntityRefs ?? [];
      if (refs.some(r => r.startsWith('group:'))) break;
      if (Date.now() > end) throw new Error(`${userEntityRef} never got a team`);
      await new Promise(r => setTimeout(r, 500));
    }
    return (p: string, init: RequestInit = {}) =>
      fetch(`${baseUrl}${p}`, {
        ...init,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${userToken}`,
          ...(init.headers as Record<string, string>),
        },
      });
  };

  const createService = async (
    values: Record<string, unknown>,
    templateRef = 'template:default/nodejs-service',
  ) => {
    const res = await api('/api/scaffolder/v2/tasks', {
      method: 'POST',
      body: JSON.stringify({ templateRef, values }),
    });
    if (res.status !== 201) throw new Error(`create task: ${res.status} ${await res.text()}`);
    return (await res.json()).id as string;
  };

  type Api = typeof api;
  /** The task's status, or undefined while the backend cannot answer. */
  const taskStatus = async (id: string, using: Api = api): Promise<string | undefined> => {
    try {
      const res = await using(`/api/scaffolder/v2/tasks/${id}`);
      return res.ok ? (await res.json()).status : undefined;
    } catch {
      return undefined;
    }
  };

  /** Waits for the task to end; `using` reads it (default: the guest, who may read only their own). */
  const waitForTask = async (id: string, timeoutMs = 120_000, using: Api = api): Promise<TaskResult> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const status = await taskStatus(id, using);
      if (status === 'completed' || status === 'failed' || status === 'cancelled') {
        const events: any[] = await (await using(`/api/scaffolder/v2/tasks/${id}/events`)).json();
        const completion = events.find(e => e.type === 'completion');
        // The completion only says "failed"; the step's error is logged.
        const stepError = events
          .filter(e => e.type === 'log' && /Error: /.test(e.body?.message ?? ''))
          .map(e => e.body.message as string)
          .pop();
        return {
          id,
          status,
          message: stepError ?? completion?.body?.message,
          output: completion?.body?.output,
          log: events.filter(e => e.type === 'log').map(e => e.body.message as string),
        };
      }
      if (Date.now() > end) throw new Error(`task ${id} still ${status}`);
      await new Promise(r => setTimeout(r, 300));
    }
  };

  /** The task's log lines so far (it may still be running). */
  const taskLog = async (id: string, using: Api = api): Promise<string[]> => {
    const res = await using(`/api/scaffolder/v2/tasks/${id}/events`);
    if (!res.ok) return [];
    const events: any[] = await res.json();
    return events.filter(e => e.type === 'log').map(e => e.body.message as string);
  };

  return {
    sandbox,
    get backend() {
      return backend;
    },
    baseUrl,
    api,
    asUser,
    createService,
    taskStatus,
    waitForTask,
    taskLog,
    /** Kills the backend at once (SIGKILL), as a crash or an OOM kill would. */
    kill: async () => {
      backend.child.kill('SIGKILL');
      await backend.exited;
    },
    /** Starts the backend again with the same config and database. */
    restart: async () => {
      if (backend.child.exitCode === null && backend.child.signalCode === null) {
        await backend.stop();
      }
      await start();
      await signIn();
    },
    close: async () => {
      await backend.stop();
      if (ownSandbox) await sandbox.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * How many of {@link sandboxResourcesFor}'s resources a completed Create
 * leaves with the local config (ciAuth oidc, aws secrets): two GitLab
 * projects, the ArgoCD project and application, the namespace, the ECR
 * repository, two IAM policies (ECR, secrets) and two IAM roles (CI,
 * SecretStore), and no IAM user.
 */
export const COMPLETE_SERVICE_RESOURCES = 10;

/**
 * Everything the sandbox holds for service `name`, asked through the fakes'
 * public APIs (the same ones the real systems have).
 */
export async function sandboxResourcesFor(sandbox: RunningSandbox, name: string): Promise<string[]> {
  const found: string[] = [];
  const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });
  const gitlab = { 'PRIVATE-TOKEN': 'sandbox-token' };
  for (const p of [`apps/${name}`, `platform/gitops/${name}-gitops`]) {
    if ((await get(`${sandbox.urls.gitlab}/api/v4/projects/${encodeURIComponent(p)}`, gitlab)).status === 200) {
      found.push(`gitlab project ${p}`);
    }
  }
  const argocd = { authorization: 'Bearer sandbox-token' };
  if ((await get(`${sandbox.urls.argocd}/api/v1/projects/${name}`, argocd)).status === 200) found.push(`argocd project ${name}`);
  if ((await get(`${sandbox.urls.argocd}/api/v1/applications/${name}`, argocd)).status === 200) found.push(`argocd application ${name}`);
  if ((await get(`${sandbox.urls.kubernetes}/api/v1/namespaces/${name}`, argocd)).status === 200) found.push(`namespace ${name}`);
  const ecr = await fetch(sandbox.urls.aws, {
    method: 'POST',
    headers: { 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories', 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({ repositoryNames: [name] }),
  });
  if (ecr.status === 200) found.push(`ecr repository ${name}`);
  for (const [action, param, value] of [
    ['GetPolicy', 'PolicyArn', `arn:aws:iam::000000000000:policy/idp-${name}-ecr-push-pull`],
    ['GetPolicy', 'PolicyArn', `arn:aws:iam::000000000000:policy/idp-${name}-secrets-read`],
    ['GetUser', 'UserName', `idp-${name}-ci`],
    ['GetRole', 'RoleName', `idp-${name}-ci`],
    ['GetRole', 'RoleName', `idp-${name}-secrets`],
  ]) {
    const res = await fetch(sandbox.urls.aws, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Action: action, Version: '2010-05-08', [param]: value }).toString(),
    });
    const kind = { GetPolicy: 'policy', GetUser: 'user', GetRole: 'role' }[action];
    if (res.status === 200) found.push(`iam ${kind} ${value}`);
  }
  return found;
}

/** The ArgoCD application's sync status in the sandbox, or undefined. */
export async function argoSyncStatus(sandbox: RunningSandbox, name: string): Promise<string | undefined> {
  const res = await fetch(`${sandbox.urls.argocd}/api/v1/applications/${name}`, {
    headers: { authorization: 'Bearer sandbox-token' },
  });
  return res.ok ? (await res.json()).status?.sync?.status : undefined;
}
