/**
 * The ArgoCD fake: the subset of ArgoCD's REST API (`/api/v1/...`) that the
 * golden path uses: sessions, AppProjects and Applications. Request bodies
 * are checked against ArgoCD's own swagger.json; errors look like
 * ArgoCD's (`{ error, code, message }` with the gRPC code); an
 * Application's status follows the GitLab fake's real repositories.
 *
 * State: `<dataDir>/argocd.db` (SQLite, one row per object).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import express, { NextFunction, Request, Response, Router } from 'express';
import { SandboxEnv, SandboxFake, SandboxFakeFactory, SeedService } from '../server';
import { Store } from '../store';
import { applicationStatus, inspectApp, observe, repoFullPath, SyncRecord, sourcesOf } from './status';
import { findArgocdSwagger, SwaggerBodyValidator } from './swagger';

export { findArgocdSwagger } from './swagger';
export { repoFullPath } from './status';

type Json = Record<string, any>;

/**
 * Every operation name of the ArgoCD fake, as used by fault rules
 * (`{ service: 'argocd', operation }`) and the operation log. Requests that
 * match none are named `<METHOD> <path>`.
 */
export const ARGOCD_OPERATIONS = [
  'GET /api/version',
  'POST /api/v1/session',
  'GET /api/v1/projects',
  'POST /api/v1/projects',
  'GET /api/v1/projects/:name',
  'PUT /api/v1/projects/:name',
  'DELETE /api/v1/projects/:name',
  'GET /api/v1/applications',
  'POST /api/v1/applications',
  'GET /api/v1/applications/:name',
  'PUT /api/v1/applications/:name',
  'DELETE /api/v1/applications/:name',
  /** GitLab Push Hook events (see the webhook route). */
  'POST /api/webhook',
] as const;

/** One of {@link ARGOCD_OPERATIONS}. */
export type ArgocdOperation = (typeof ARGOCD_OPERATIONS)[number];

/** Namespace ArgoCD "runs in"; AppProjects and Applications default to it. */
export const ARGOCD_NAMESPACE = 'argocd';

/** The project every ArgoCD has, which permits everything and cannot be deleted. */
const DEFAULT_PROJECT = 'default';

/** The route template of a path (`/api/v1/projects/:name`), or undefined. */
function routeTemplate(p: string): string | undefined {
  if (['/api/version', '/api/v1/session', '/api/v1/projects', '/api/v1/applications', '/api/webhook'].includes(p)) return p;
  if (/^\/api\/v1\/projects\/[^/]+$/.test(p)) return '/api/v1/projects/:name';
  if (/^\/api\/v1\/applications\/[^/]+$/.test(p)) return '/api/v1/applications/:name';
  return undefined;
}

/** Names an ArgoCD request as in {@link ARGOCD_OPERATIONS}, else `<METHOD> <path>`. */
export function argocdOperationOf(req: Pick<Request, 'method' | 'path'>): string {
  const method = req.method.toUpperCase();
  const p = req.path.replace(/\/+$/, '') || '/';
  const template = routeTemplate(p);
  const operation = `${method} ${template}`;
  return template && (ARGOCD_OPERATIONS as readonly string[]).includes(operation) ? operation : `${method} ${p}`;
}

/** gRPC codes as ArgoCD's gateway maps them to HTTP. */
const GRPC = {
  InvalidArgument: { code: 3, http: 400 },
  NotFound: { code: 5, http: 404 },
  AlreadyExists: { code: 6, http: 409 },
  PermissionDenied: { code: 7, http: 403 },
  FailedPrecondition: { code: 9, http: 400 },
  Aborted: { code: 10, http: 409 },
  Unimplemented: { code: 12, http: 501 },
  Internal: { code: 13, http: 500 },
  Unauthenticated: { code: 16, http: 401 },
} as const;

/** An error answered as ArgoCD does: `{ error, code, message }`. */
class ArgoError extends Error {
  constructor(
    readonly grpc: keyof typeof GRPC,
    message: string,
    readonly extra: Json = {},
  ) {
    super(message);
  }
}

function sendError(res: Response, err: ArgoError) {
  const { code, http } = GRPC[err.grpc];
  res.status(http).json({ error: err.message, code, message: err.message, ...err.extra });
}


function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's omitempty drops zero values, so ArgoCD's DeepEqual does not see them. */
function withoutZeroValues(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.length === 0 ? undefined : value.map(v => withoutZeroValues(v) ?? null);
  }
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = withoutZeroValues(v);
      if (kept !== undefined) out[k] = kept;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (value === null || value === undefined || value === false || value === 0 || value === '') {
    return undefined;
  }
  return value;
}

function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (isObject(v)) {
      return Object.fromEntries(Object.keys(v).sort().map(k => [k, sort(v[k])]));
    }
    return v;
  };
  return JSON.stringify(sort(withoutZeroValues(value)) ?? null);
}

/** Equal as ArgoCD's reflect.DeepEqual on the Go structs would find them. */
function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** Kubernetes timestamps have second precision. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkName(name: unknown, resource: string): string {
  if (typeof name !== 'string' || name === '') {
    throw new ArgoError('InvalidArgument', `${resource} "" is invalid: metadata.name: Required value: name or generateName is required`);
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw new ArgoError(
      'InvalidArgument',
      `${resource} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    );
  }
  return name;
}

/** ArgoCD's glob: `*` matches anything (slashes included), `?` one character. */
function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map(c => {
      if (c === '*') return '.*';
      if (c === '?') return '.';
      return c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** Repository URLs compare without `.git`, trailing slashes or case. */
function normaliseRepo(url: string): string {
  let out = url.trim();
  for (;;) {
    if (out.endsWith('/')) out = out.slice(0, -1);
    else if (out.toLowerCase().endsWith('.git')) out = out.slice(0, -4);
    else break;
  }
  return out.toLowerCase();
}

function repoPermitted(project: Json, repoURL: string): boolean {
  const patterns: string[] = (project.spec?.sourceRepos ?? []).filter((p: unknown) => typeof p === 'string');
  const repo = normaliseRepo(repoURL);
  const denied = patterns.some(p => p.startsWith('!') && globMatch(normaliseRepo(p.slice(1)), repo, true));
  const allowed = patterns.some(p => !p.startsWith('!') && (p === '*' || globMatch(normaliseRepo(p), repo, true)));
  return allowed && !denied;
}

function destinationPermitted(project: Json, destination: Json): boolean {
  const server = String(destination.server ?? '');
  const name = String(destination.name ?? '');
  const namespace = String(destination.namespace ?? '');
  return (project.spec?.destinations ?? []).some((d: Json) => {
    if (!isObject(d)) return false;
    const clusterOk =
      (server && typeof d.server === 'string' && globMatch(d.server, server)) ||
      (name && typeof d.name === 'string' && globMatch(d.name, name));
    const nsOk = typeof d.namespace === 'string' ? globMatch(d.namespace, namespace) : namespace === '';
    return clusterOk && nsOk;
  });
}

const USER_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const;

/** The metadata a client may set; the rest is the server's. */
function userMetadata(meta: Json | undefined): Json {
  const out: Json = {};
  for (const key of USER_METADATA) {
    if (meta?.[key] !== undefined) out[key] = structuredClone(meta[key]);
  }
  return out;
}

/** Replaces the client-set metadata of a stored object with `meta`'s. */
function replaceUserMetadata(stored: Json, meta: Json | undefined) {
  for (const key of USER_METADATA) delete stored.metadata[key];
  Object.assign(stored.metadata, userMetadata(meta));
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  return selector
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .every(term => {
      const neq = /^([^!=]+)!=(.*)$/.exec(term);
      if (neq) return labels?.[neq[1].trim()] !== neq[2].trim();
      const eq = /^([^=]+)==?(.*)$/.exec(term);
      if (eq) return labels?.[eq[1].trim()] === eq[2].trim();
      if (term.startsWith('!')) return labels?.[term.slice(1)] === undefined;
      return labels?.[term] !== undefined;
    });
}

/** Values of a query parameter given once, repeated, or comma-separated. */
function queryList(value: unknown): string[] {
  let values: unknown[] = [];
  if (Array.isArray(value)) values = value;
  else if (value !== undefined) values = [value];
  return values.flatMap(v => String(v).split(',')).map(v => v.trim()).filter(Boolean);
}

/** A JWT-shaped session token (not signed by anything; any token is accepted). */
function sessionToken(username: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return [
    b64({ alg: 'HS256', typ: 'JWT' }),
    b64({ iss: 'argocd', sub: `${username}:login`, iat: now, nbf: now, exp: now + 86400, jti: crypto.randomUUID() }),
    crypto.randomBytes(32).toString('base64url'),
  ].join('.');
}

/** The bearer token (or ArgoCD's `argocd.token` cookie), or undefined. */
function requestToken(req: Request): string | undefined {
  const auth = req.header('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (bearer) return bearer[1];
  const cookie = /(?:^|;\s*)argocd\.token=([^;]+)/.exec(req.header('cookie') ?? '');
  return cookie?.[1];
}

export interface ArgocdFakeOptions {
  /**
   * The swagger.json to validate request bodies against; default
   * {@link findArgocdSwagger}. `null` turns validation off.
   */
  swaggerFile?: string | null;
}

/**
 * Builds the ArgoCD fake (see the module comment). Any bearer token is
 * accepted; `POST /api/v1/session` hands one out for any username and
 * password. Without the swagger file it starts anyway, logging that
 * request validation is off.
 */
export function createArgocdFake(options: ArgocdFakeOptions = {}): SandboxFakeFactory {
  return env => argocdFakeWith(env, options);
}

/** The ArgoCD fake, validating against the conformance kit's swagger.json. */
export const argocdFake: SandboxFakeFactory = createArgocdFake();

function argocdFakeWith(env: SandboxEnv, options: ArgocdFakeOptions): SandboxFake {
  const store = new Store(path.join(env.dataDir, 'argocd.db'));
  const projects = store.collection<Json>('appproject', p => ({ id: p.metadata.name }));
  const applications = store.collection<Json>('application', a => ({
    id: a.metadata.name,
    parent: a.spec?.project || DEFAULT_PROJECT,
  }));
  /** When each Application was last "synced", by name. */
  const syncs = store.collection<SyncRecord & { name: string }>('sync', r => ({ id: r.name }));
  const repos = env.repos;

  const swaggerFile = options.swaggerFile === undefined ? findArgocdSwagger() : options.swaggerFile ?? undefined;
  const validator = swaggerFile ? SwaggerBodyValidator.forFile(swaggerFile) : undefined;
  if (!validator) {
    // eslint-disable-next-line no-console
    console.warn(
      `Sandbox ArgoCD: ${options.swaggerFile === null ? 'no swagger.json given' : '../shared/conformance/argocd/swagger.json not found next to the repository'}; request validation is off`,
    );
  }

  const nextResourceVersion = () => {
    return String(store.next('resourceVersion'));
  };

  if (!projects.get(DEFAULT_PROJECT)) {
    projects.put({
      metadata: {
        name: DEFAULT_PROJECT,
        namespace: ARGOCD_NAMESPACE,
        uid: crypto.randomUUID(),
        resourceVersion: nextResourceVersion(),
        generation: 1,
        creationTimestamp: timestamp(),
      },
      spec: {
        sourceRepos: ['*'],
        destinations: [{ server: '*', namespace: '*' }],
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      },
      status: {},
    });
  }

  /** The body, checked against `#/definitions/<definition>` of swagger.json. */
  const body = (req: Request, definition: string): Json => {
    const value = req.body;
    if (validator?.has(definition)) {
      const check = validator.validate(definition, value);
      if (!check.valid) {
        throw new ArgoError(
          'InvalidArgument',
          `request body does not match #/definitions/${definition}: ${check.text}`,
          { validationErrors: check.errors },
        );
      }
    }
    if (!isObject(value)) {
      throw new ArgoError('InvalidArgument', 'request body must be a JSON object');
    }
    return value;
  };

  const notFound = (resource: 'appprojects' | 'applications', name: string) =>
    new ArgoError('NotFound', `${resource}.argoproj.io "${name}" not found`);

  const getProject = (name: string): Json => {
    const project = projects.get(name);
    if (!project) throw notFound('appprojects', name);
    return project;
  };

  const getApp = (name: string): Json => {
    const app = applications.get(name);
    if (!app) throw notFound('applications', name);
    return app;
  };

  /** The Application as ArgoCD answers it: stored fields plus a fresh status. */
  /**
   * ArgoCD looks at the app's sources now (creation, spec change, poll,
   * webhook) and, syncing automatically, deploys what it finds ready.
   */
  const reconcile = async (app: Json): Promise<void> => {
    const name = app.metadata.name;
    const states = await inspectApp(repos, app);
    const next = observe(states, syncs.get(name), timestamp());
    if (next && applications.get(name)) syncs.put({ ...next, name });
  };

  /** The Application as ArgoCD answers it: stored fields plus its status. */
  const withStatus = async (app: Json): Promise<Json> => {
    const name = app.metadata.name;
    const now = timestamp();
    const states = await inspectApp(repos, app);
    let record: SyncRecord | undefined = syncs.get(name);
    if (!record) {
      // Not observed ready yet: ArgoCD retries failed comparisons at once.
      record = observe(states, undefined, now);
      if (record) syncs.put({ ...record, name });
    }
    return { ...structuredClone(app), status: applicationStatus(app, states, now, record) };
  };

  /** How often ArgoCD polls repositories (`timeout.reconciliation`, 180 s by default), and the webhook secret. */
  const config = { pollIntervalMs: 180_000, webhookSecret: '' };
  let polling: NodeJS.Timeout | undefined;
  let pollRunning = false;
  const poll = async () => {
    if (pollRunning) return;
    pollRunning = true;
    try {
      for (const app of applications.list()) await reconcile(app).catch(() => undefined);
    } finally {
      pollRunning = false;
    }
  };
  const schedule = () => {
    if (polling) clearInterval(polling);
    polling = setInterval(() => void poll(), Math.max(10, config.pollIntervalMs));
    polling.unref();
  };
  schedule();

  const admin = Router();
  admin.get('/__admin/argocd', (_req, res) => {
    res.json({ pollIntervalMs: config.pollIntervalMs, webhookSecret: config.webhookSecret ? '(set)' : '' });
  });
  admin.post('/__admin/argocd', express.json(), (req, res) => {
    const { pollIntervalMs, webhookSecret } = (req.body ?? {}) as { pollIntervalMs?: unknown; webhookSecret?: unknown };
    if (pollIntervalMs !== undefined) {
      if (typeof pollIntervalMs !== 'number' || !(pollIntervalMs >= 10)) {
        res.status(400).json({ message: 'pollIntervalMs must be a number of milliseconds, at least 10' });
        return;
      }
      config.pollIntervalMs = pollIntervalMs;
      schedule();
    }
    if (webhookSecret !== undefined) config.webhookSecret = String(webhookSecret);
    res.json({ pollIntervalMs: config.pollIntervalMs, webhookSecret: config.webhookSecret ? '(set)' : '' });
  });

  /** ArgoCD's checks of an Application against its project. */
  const validateApp = (name: string, app: Json): Json => {
    const spec = isObject(app.spec) ? app.spec : {};
    const projectName = String(spec.project || DEFAULT_PROJECT);
    const project = projects.get(projectName);
    if (!project) {
      throw new ArgoError('InvalidArgument', `application references project ${projectName} which does not exist`);
    }
    const problems: string[] = [];
    const sources = sourcesOf(spec);
    if (sources.length === 0) {
      problems.push('spec.source or spec.sources must be specified');
    }
    for (const source of sources) {
      if (!source.repoURL || !(source.path !== undefined || source.chart || source.ref)) {
        problems.push('spec.source.repoURL and either spec.source.path, spec.source.chart, or spec.source.ref are required');
      } else if (!repoPermitted(project, String(source.repoURL))) {
        problems.push(`application repo ${source.repoURL} is not permitted in project '${projectName}'`);
      }
    }
    const destination = isObject(spec.destination) ? spec.destination : {};
    if (!destination.server && !destination.name) {
      problems.push('Destination server missing from app spec');
    } else if (!destinationPermitted(project, destination)) {
      problems.push(
        `application destination server '${destination.server ?? destination.name}' and namespace '${destination.namespace ?? ''}' do not match any of the allowed destinations in project '${projectName}'`,
      );
    }
    if (problems.length > 0) {
      throw new ArgoError('InvalidArgument', `application spec for ${name} is invalid: InvalidSpecError: ${problems.join('; InvalidSpecError: ')}`);
    }
    return { ...spec, project: projectName };
  };

  const router = Router();
  const json = express.json({ limit: '10mb', type: () => true });

  /** Runs a handler; ArgoErrors become ArgoCD-shaped answers. */
  const handle =
    (fn: (req: Request) => { status?: number; body: unknown } | Promise<{ status?: number; body: unknown }>) =>
    (req: Request, res: Response) => {
      Promise.resolve()
        .then(() => fn(req))
        .then(
          out => res.status(out.status ?? 200).json(out.body),
          err => {
            if (err instanceof ArgoError) sendError(res, err);
            else sendError(res, new ArgoError('Internal', err instanceof Error ? err.message : String(err)));
          },
        );
    };

  router.get(
    '/api/version',
    handle(() => ({ body: { Version: 'v3.5.1+sandbox', Platform: `${process.platform}/${process.arch}` } })),
  );

  router.post(
    '/api/v1/session',
    json,
    handle(req => {
      const { username, password } = body(req, 'sessionSessionCreateRequest');
      if (typeof username !== 'string' || !username || typeof password !== 'string' || !password) {
        throw new ArgoError('Unauthenticated', 'Invalid username or password');
      }
      return { body: { token: sessionToken(username) } };
    }),
  );

  /**
   * ArgoCD's webhook: a GitLab "Push Hook" makes every Application whose
   * source is the pushed repository and branch look at it at once. With a
   * secret configured (`POST /__admin/argocd {webhookSecret}`), the
   * X-Gitlab-Token must match, as in ArgoCD's `webhook.gitlab.secret`.
   */
  router.post('/api/webhook', json, (req: Request, res: Response) => {
    const event = req.header('x-gitlab-event');
    if (!event) {
      res.status(400).type('text/plain').send('Webhook processing failed: unknown webhook event\n');
      return;
    }
    if (config.webhookSecret && req.header('x-gitlab-token') !== config.webhookSecret) {
      res.status(400).type('text/plain').send('Webhook processing failed: token validation failed\n');
      return;
    }
    const pushEvent = isObject(req.body) ? req.body : {};
    const ref = typeof pushEvent.ref === 'string' ? pushEvent.ref : '';
    const project = isObject(pushEvent.project) ? pushEvent.project : {};
    const fullPath = String(project.path_with_namespace ?? repoFullPath(project.git_http_url) ?? '').toLowerCase();
    if (event !== 'Push Hook' || !ref.startsWith('refs/heads/') || !fullPath) {
      res.status(200).end();
      return;
    }
    const branch = ref.slice('refs/heads/'.length);
    const defaultBranch = String(project.default_branch ?? 'main');
    const matching = applications.list().filter(app =>
      sourcesOf(app.spec).some(source => {
        const target = String(source.targetRevision ?? '').trim();
        const revision = !target || target === 'HEAD' ? defaultBranch : target.replace(/^refs\/heads\//, '');
        return repoFullPath(source.repoURL)?.toLowerCase() === fullPath && revision === branch;
      }),
    );
    Promise.all(matching.map(app => reconcile(app).catch(() => undefined))).then(() => res.status(200).end());
  });

  router.use('/api', (req: Request, res: Response, next: NextFunction) => {
    if (requestToken(req)) return next();
    sendError(res, new ArgoError('Unauthenticated', 'no session information'));
    return undefined;
  });

  // Projects

  router.get(
    '/api/v1/projects',
    handle(req => {
      const names = queryList(req.query.name);
      const items = (names.length ? names.flatMap(n => projects.get(n) ?? []) : projects.list()).sort((a, b) =>
        a.metadata.name.localeCompare(b.metadata.name),
      );
      return { body: { metadata: { resourceVersion: String(store.current('resourceVersion')) }, items } };
    }),
  );

  router.get('/api/v1/projects/:name', handle(req => ({ body: getProject(req.params.name) })));

  router.post(
    '/api/v1/projects',
    json,
    handle(req => {
      const { project, upsert } = body(req, 'projectProjectCreateRequest');
      if (!isObject(project)) throw new ArgoError('InvalidArgument', 'project is required');
      const name = checkName(project.metadata?.name, 'AppProject.argoproj.io');
      const spec = isObject(project.spec) ? structuredClone(project.spec) : {};
      const existing = projects.get(name);
      if (existing) {
        if (sameValue(existing.spec, spec)) return { body: existing };
        if (upsert !== true) {
          throw new ArgoError('InvalidArgument', 'existing project spec is different, use upsert flag to force update');
        }
        existing.spec = spec;
        replaceUserMetadata(existing, project.metadata);
        existing.metadata.resourceVersion = nextResourceVersion();
        existing.metadata.generation = (existing.metadata.generation ?? 1) + 1;
        projects.put(existing);
        return { body: existing };
      }
      const created = {
        metadata: {
          name,
          namespace: ARGOCD_NAMESPACE,
          uid: crypto.randomUUID(),
          resourceVersion: nextResourceVersion(),
          generation: 1,
          creationTimestamp: timestamp(),
          ...userMetadata(project.metadata),
        },
        spec,
        status: {},
      };
      projects.put(created);
      return { body: created };
    }),
  );

  router.put(
    '/api/v1/projects/:name',
    json,
    handle(req => {
      const name = req.params.name;
      const { project } = body(req, 'projectProjectUpdateRequest');
      if (!isObject(project)) throw new ArgoError('InvalidArgument', 'project is required');
      const existing = getProject(name);
      const rv = project.metadata?.resourceVersion;
      if (rv === undefined || rv === '') {
        throw new ArgoError(
          'InvalidArgument',
          `AppProject.argoproj.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
        );
      }
      if (String(rv) !== existing.metadata.resourceVersion) {
        throw new ArgoError(
          'Aborted',
          `Operation cannot be fulfilled on appprojects.argoproj.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      const spec = isObject(project.spec) ? structuredClone(project.spec) : {};
      const specChanged = !sameValue(existing.spec, spec);
      existing.spec = spec;
      replaceUserMetadata(existing, project.metadata);
      existing.metadata.resourceVersion = nextResourceVersion();
      existing.metadata.generation = (existing.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      projects.put(existing);
      return { body: existing };
    }),
  );

  router.delete(
    '/api/v1/projects/:name',
    handle(req => {
      const name = req.params.name;
      getProject(name);
      if (name === DEFAULT_PROJECT) {
        throw new ArgoError('InvalidArgument', "name 'default' is reserved and cannot be deleted");
      }
      const users = applications.list({ parent: name });
      if (users.length > 0) {
        throw new ArgoError('InvalidArgument', `project is referenced by ${users.length} applications`);
      }
      projects.delete(name);
      return { body: {} };
    }),
  );

  // Applications

  router.get(
    '/api/v1/applications',
    handle(async req => {
      const names = queryList(req.query.name);
      const wanted = [...queryList(req.query.projects), ...queryList(req.query.project)];
      const selector = typeof req.query.selector === 'string' ? req.query.selector : '';
      const repo = typeof req.query.repo === 'string' ? normaliseRepo(req.query.repo) : '';
      let candidates: Json[];
      if (names.length) candidates = names.flatMap(n => applications.get(n) ?? []);
      else if (wanted.length) candidates = wanted.flatMap(p => applications.list({ parent: p }));
      else candidates = applications.list();
      const matching = candidates
        .filter(a => wanted.length === 0 || wanted.includes(a.spec?.project))
        .filter(a => !selector || matchesSelector(a.metadata.labels, selector))
        .filter(a => !repo || sourcesOf(a.spec).some(s => normaliseRepo(String(s.repoURL ?? '')) === repo))
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      const items = await Promise.all(matching.map(withStatus));
      return { body: { metadata: { resourceVersion: String(store.current('resourceVersion')) }, items } };
    }),
  );

  router.get('/api/v1/applications/:name', handle(async req => ({ body: await withStatus(getApp(req.params.name)) })));

  router.post(
    '/api/v1/applications',
    json,
    handle(async req => {
      const app = body(req, 'v1alpha1Application');
      const upsert = String(req.query.upsert ?? 'false').toLowerCase() === 'true';
      const name = checkName(app.metadata?.name, 'Application.argoproj.io');
      const spec = validateApp(name, app);
      const meta = userMetadata(app.metadata);
      const existing = applications.get(name);
      if (existing) {
        const same =
          sameValue(existing.spec, spec) &&
          sameValue(existing.metadata.labels, meta.labels) &&
          sameValue(existing.metadata.annotations, meta.annotations) &&
          sameValue(existing.metadata.finalizers, meta.finalizers);
        if (same) return { body: await withStatus(existing) };
        if (!upsert) {
          throw new ArgoError('InvalidArgument', 'existing application spec is different, use upsert flag to force update');
        }
        existing.spec = spec;
        replaceUserMetadata(existing, app.metadata);
        existing.metadata.resourceVersion = nextResourceVersion();
        existing.metadata.generation = (existing.metadata.generation ?? 1) + 1;
        applications.put(existing);
        await reconcile(existing);
        return { body: await withStatus(existing) };
      }
      const created = {
        metadata: {
          name,
          namespace: ARGOCD_NAMESPACE,
          uid: crypto.randomUUID(),
          resourceVersion: nextResourceVersion(),
          generation: 1,
          creationTimestamp: timestamp(),
          ...meta,
        },
        spec,
      };
      store.transaction(() => {
        applications.put(created);
        syncs.delete(name);
      });
      await reconcile(created);
      return { body: await withStatus(created) };
    }),
  );

  router.put(
    '/api/v1/applications/:name',
    json,
    handle(async req => {
      const name = req.params.name;
      const app = body(req, 'v1alpha1Application');
      const existing = getApp(name);
      // Like ArgoCD, the new spec goes onto the latest stored object
      // (conflicts are retried server-side), so resourceVersion is not checked.
      const spec = validateApp(name, app);
      const specChanged = !sameValue(existing.spec, spec);
      existing.spec = spec;
      replaceUserMetadata(existing, app.metadata);
      existing.metadata.resourceVersion = nextResourceVersion();
      existing.metadata.generation = (existing.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      applications.put(existing);
      if (specChanged) await reconcile(existing);
      return { body: await withStatus(existing) };
    }),
  );

  router.delete(
    '/api/v1/applications/:name',
    handle(req => {
      const name = req.params.name;
      getApp(name);
      // Deleted at once, cascade or not: the sandbox deploys nothing from
      // the repository, so there is nothing for the finalizer to wait for.
      store.transaction(() => {
        applications.delete(name);
        syncs.delete(name);
      });
      return { body: {} };
    }),
  );

  router.all('/api/*', (req: Request, res: Response) => {
    if (routeTemplate(req.path.replace(/\/+$/, ''))) {
      sendError(res, new ArgoError('Unimplemented', `sandbox: ${req.method} ${req.path} is not implemented`));
    } else {
      sendError(res, new ArgoError('NotFound', 'Not Found'));
    }
  });

  // Unparsable JSON, too large bodies and anything unexpected.
  router.use((err: any, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err?.type === 'entity.parse.failed' || err?.type === 'entity.too.large' || err?.status === 400) {
      sendError(res, new ArgoError('InvalidArgument', `invalid request body: ${err.message}`));
    } else {
      sendError(res, new ArgoError('Internal', err instanceof Error ? err.message : String(err)));
    }
    return undefined;
  });

  /** An AppProject and an automated Application per service, like the golden path's. */
  const seed = async (services: SeedService[]) => {
    store.transaction(() => {
      for (const { name } of services) {
        if (projects.get(name) || applications.get(name)) continue;
        const repoURL = `${env.urls.gitlab}/platform/gitops/${name}-gitops.git`;
        const destination = { server: 'https://kubernetes.default.svc', namespace: name };
        const metadata = () => ({
          namespace: ARGOCD_NAMESPACE,
          uid: crypto.randomUUID(),
          resourceVersion: nextResourceVersion(),
          generation: 1,
          creationTimestamp: timestamp(),
          labels: { 'golden-path/app': name },
        });
        projects.put({
          metadata: { name, ...metadata() },
          spec: {
            description: `Seeded service ${name}`,
            sourceRepos: [repoURL],
            destinations: [destination],
            namespaceResourceWhitelist: [{ group: '*', kind: '*' }],
          },
          status: {},
        });
        applications.put({
          metadata: { name, ...metadata() },
          spec: {
            project: name,
            source: { repoURL, path: 'manifests', targetRevision: 'main' },
            destination,
            syncPolicy: { automated: { prune: true, selfHeal: true } },
          },
        });
      }
    });
  };

  return {
    router,
    admin,
    seed,
    operationOf: argocdOperationOf,
    close: () => {
      if (polling) clearInterval(polling);
      store.close();
    },
  };
}
