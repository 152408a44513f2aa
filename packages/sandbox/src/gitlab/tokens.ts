import { randomBytes } from 'node:crypto';
import { Request } from 'express';
import type { ApiKit } from './api';
import { badRequest, Ctx, Handler, int, isPast, notFound, paramError, str, stringList, today } from './http';
import { GitLabState, sha256, StoredAccessToken, StoredProject } from './state';

const ACCESS_TOKEN_SCOPES = [
  'api',
  'read_api',
  'read_repository',
  'write_repository',
  'read_registry',
  'write_registry',
  'create_runner',
  'manage_runner',
  'ai_features',
  'k8s_proxy',
  'self_rotate',
  'read_observability',
  'write_observability',
];

const DEPLOY_TOKEN_SCOPES = [
  'read_repository',
  'write_repository',
  'read_registry',
  'write_registry',
  'read_package_registry',
  'write_package_registry',
  'read_virtual_registry',
  'write_virtual_registry',
];

/** Usable: neither revoked nor past its `expires_at` day. */
export function tokenActive(t: StoredAccessToken): boolean {
  return !t.revoked && !isPast(t.expires_at);
}

function accessTokenJson(t: StoredAccessToken) {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    revoked: t.revoked,
    created_at: t.created_at,
    scopes: t.scopes,
    user_id: 100000 + t.id,
    last_used_at: null,
    active: tokenActive(t),
    expires_at: t.expires_at,
    access_level: t.access_level,
  };
}

function deployTokenJson(t: StoredAccessToken) {
  return {
    id: t.id,
    name: t.name,
    username: t.username,
    expires_at: t.expires_at,
    scopes: t.scopes,
    revoked: t.revoked,
    expired: isPast(t.expires_at),
  };
}

function expiryOf(raw: unknown, pastMessage: string): string | null {
  const expiresAt = str(raw) || null;
  if (expiresAt === null) return null;
  if (!/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) {
    throw paramError('expires_at is invalid');
  }
  const day = expiresAt.slice(0, 10);
  if (day < today()) throw badRequest(pastMessage);
  return day;
}

const newTokenValue = (prefix: string) => `${prefix}${randomBytes(15).toString('base64url')}`;

function addDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Project access tokens and deploy tokens. */
export function tokenHandlers(kit: ApiKit): Record<string, Handler> {
  const { state } = kit;
  const tokenOf = (ctx: Ctx, project: StoredProject, kind: 'access' | 'deploy') => {
    const collection = kind === 'access' ? state.accessTokens : state.deployTokens;
    const token = /^\d+$/.test(ctx.params.token_id) ? collection.get(ctx.params.token_id) : undefined;
    if (!token || token.project_id !== project.id) throw notFound('');
    return token;
  };

  return {
    'GET /api/v4/projects/:id/access_tokens': ctx => {
      const project = kit.projectOf(ctx);
      const stateFilter = str(ctx.input.state);
      const tokens = state.accessTokens
        .list({ parent: project.id })
        .filter(t => !stateFilter || (stateFilter === 'active') === tokenActive(t));
      return kit.paginate(ctx, tokens, accessTokenJson);
    },

    'POST /api/v4/projects/:id/access_tokens': ctx => {
      const project = kit.projectOf(ctx);
      const { input } = ctx;
      const name = str(input.name);
      if (!name) throw paramError('name is missing');
      const scopes = stringList(input.scopes);
      if (!scopes || scopes.length === 0) throw paramError('scopes is missing');
      if (scopes.some(s => !ACCESS_TOKEN_SCOPES.includes(s))) throw paramError('scopes does not have a valid value');
      const expiresAt = expiryOf(input.expires_at, 'Expiration date must be in the future');
      const accessLevel = input.access_level === undefined ? 40 : int(input.access_level);
      if (accessLevel === undefined || ![10, 20, 30, 40, 50].includes(accessLevel)) {
        throw paramError('access_level does not have a valid value');
      }
      const token = newTokenValue('glpat-');
      const stored = state.accessTokens.put({
        id: state.nextId('access_token'),
        project_id: project.id,
        name,
        description: str(input.description) ?? null,
        scopes,
        access_level: accessLevel,
        expires_at: expiresAt,
        created_at: new Date().toISOString(),
        revoked: false,
        token_sha256: sha256(token),
      });
      return { status: 201, body: { ...accessTokenJson(stored), token } };
    },

    'GET /api/v4/projects/:id/access_tokens/:token_id': ctx => ({
      body: accessTokenJson(tokenOf(ctx, kit.projectOf(ctx), 'access')),
    }),

    'DELETE /api/v4/projects/:id/access_tokens/:token_id': ctx => {
      const token = tokenOf(ctx, kit.projectOf(ctx), 'access');
      if (token.revoked) throw notFound('');
      state.accessTokens.put({ ...token, revoked: true });
      return { status: 204 };
    },

    /** A new token with the same name, scopes and level; the old one is revoked. */
    'POST /api/v4/projects/:id/access_tokens/:token_id/rotate': ctx => {
      const project = kit.projectOf(ctx);
      const old = tokenOf(ctx, project, 'access');
      if (!tokenActive(old)) throw badRequest('400 Bad request - Token already revoked');
      const expiresAt = expiryOf(ctx.input.expires_at, 'Expiration date must be in the future') ?? addDays(7);
      const token = newTokenValue('glpat-');
      const rotated = state.store.transaction(() => {
        state.accessTokens.put({ ...old, revoked: true });
        return state.accessTokens.put({
          ...old,
          id: state.nextId('access_token'),
          expires_at: expiresAt,
          created_at: new Date().toISOString(),
          revoked: false,
          token_sha256: sha256(token),
        });
      });
      return { status: 200, body: { ...accessTokenJson(rotated), token } };
    },

    'GET /api/v4/projects/:id/deploy_tokens': ctx => {
      const project = kit.projectOf(ctx);
      const active = str(ctx.input.active);
      const tokens = state.deployTokens
        .list({ parent: project.id })
        .filter(t => active === undefined || (active === 'true') === tokenActive(t));
      return kit.paginate(ctx, tokens, deployTokenJson);
    },

    'POST /api/v4/projects/:id/deploy_tokens': ctx => {
      const project = kit.projectOf(ctx);
      const { input } = ctx;
      const name = str(input.name);
      if (!name) throw paramError('name is missing');
      const scopes = stringList(input.scopes);
      if (!scopes || scopes.length === 0) throw paramError('scopes is missing');
      if (scopes.some(s => !DEPLOY_TOKEN_SCOPES.includes(s))) throw paramError('scopes does not have a valid value');
      const expiresAt = expiryOf(input.expires_at, 'Expires at date must be in the future');
      const id = state.nextId('deploy_token');
      const username = str(input.username) || `gitlab+deploy-token-${id}`;
      if (!/^[a-zA-Z0-9_.+-]+$/.test(username)) {
        throw badRequest({ username: ["can contain only letters, digits, '_', '-', '+', and '.'"] });
      }
      const token = newTokenValue('gldt-');
      const stored = state.deployTokens.put({
        id,
        project_id: project.id,
        name,
        description: null,
        scopes,
        access_level: 0,
        expires_at: expiresAt,
        created_at: new Date().toISOString(),
        revoked: false,
        token_sha256: sha256(token),
        username,
      });
      return { status: 201, body: { ...deployTokenJson(stored), token } };
    },

    'GET /api/v4/projects/:id/deploy_tokens/:token_id': ctx => ({
      body: deployTokenJson(tokenOf(ctx, kit.projectOf(ctx), 'deploy')),
    }),

    /** GitLab deletes deploy tokens outright (they stop working at once). */
    'DELETE /api/v4/projects/:id/deploy_tokens/:token_id': ctx => {
      const token = tokenOf(ctx, kit.projectOf(ctx), 'deploy');
      state.deployTokens.delete(token.id);
      return { status: 204 };
    },
  };
}

/** Credentials of a git-over-HTTP or API request: Basic (user + password/token), Bearer or PRIVATE-TOKEN. */
export function credentialsOf(req: Request): { user?: string; token: string } | undefined {
  const header = req.headers.authorization ?? '';
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
    const token = colon >= 0 ? decoded.slice(colon + 1) : '';
    return token ? { user, token } : undefined;
  }
  const bearer = /^Bearer\s+(\S+)/i.exec(header)?.[1];
  if (bearer) return { token: bearer };
  const privateToken = req.headers['private-token'];
  if (typeof privateToken === 'string' && privateToken) return { token: privateToken };
  return undefined;
}

/**
 * What a token may do with `project`'s repository over git: the admin
 * token everything; a project access token or deploy token of that project
 * (active) what its scopes allow; anything else nothing.
 */
export function gitAccess(
  state: GitLabState,
  adminToken: string,
  project: StoredProject,
  token: string,
): { read: boolean; write: boolean; known: boolean } {
  if (token === adminToken) return { read: true, write: true, known: true };
  const hash = sha256(token);
  const access = state.accessTokens.byName(hash);
  if (access && access.project_id === project.id && tokenActive(access)) {
    const write = access.access_level >= 30 && access.scopes.some(s => s === 'api' || s === 'write_repository');
    const read = write || access.scopes.some(s => ['api', 'read_api', 'read_repository'].includes(s));
    return { read, write, known: true };
  }
  const deploy = state.deployTokens.byName(hash);
  if (deploy && deploy.project_id === project.id && tokenActive(deploy)) {
    const write = deploy.scopes.includes('write_repository');
    return { read: write || deploy.scopes.includes('read_repository'), write, known: true };
  }
  return { read: false, write: false, known: false };
}

/** A project token that exists but no longer works (API calls with it get 401). */
export function isDeadProjectToken(state: GitLabState, token: string): boolean {
  const t = state.accessTokens.byName(sha256(token));
  return Boolean(t && !tokenActive(t));
}

