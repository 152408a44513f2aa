import { Request } from 'express';

/**
 * The REST operations of the GitLab fake. The name of each is
 * `<METHOD> <route>` with ids, paths and keys written as `:param`, whatever
 * the request spelled (`/api/v4/projects/42` and
 * `/api/v4/projects/apps%2Fx` are both `GET /api/v4/projects/:id`). HEAD
 * requests are named like GET.
 */
export const GITLAB_API_OPERATIONS = [
  'GET /api/v4/version',
  'GET /api/v4/user',
  'GET /api/v4/groups',
  'POST /api/v4/groups',
  'GET /api/v4/groups/:id',
  /** `topic`, `search`, `archived`, `include_subgroups`, `order_by`, `sort`, pagination. */
  'GET /api/v4/groups/:id/projects',
  /** Same filters as the group listing, over every project. */
  'GET /api/v4/projects',
  'POST /api/v4/projects',
  'GET /api/v4/projects/:id',
  'POST /api/v4/projects/:id/archive',
  'POST /api/v4/projects/:id/unarchive',
  /** Both steps of a deletion: marking, and `?permanently_remove=true&full_path=`. */
  'DELETE /api/v4/projects/:id',
  'GET /api/v4/projects/:id/repository/tree',
  'GET /api/v4/projects/:id/repository/commits',
  'POST /api/v4/projects/:id/repository/commits',
  'GET /api/v4/projects/:id/repository/compare',
  /** Also `/repository/archive.tar.gz` (and `.tar`, `.zip`). */
  'GET /api/v4/projects/:id/repository/archive',
  'GET /api/v4/projects/:id/repository/files/:file_path/raw',
  'GET /api/v4/projects/:id/repository/files/:file_path',
  'GET /api/v4/projects/:id/repository/branches',
  'POST /api/v4/projects/:id/repository/branches',
  'GET /api/v4/projects/:id/repository/branches/:branch',
  'DELETE /api/v4/projects/:id/repository/branches/:branch',
  'GET /api/v4/projects/:id/protected_branches',
  'POST /api/v4/projects/:id/protected_branches',
  'GET /api/v4/projects/:id/protected_branches/:name',
  'DELETE /api/v4/projects/:id/protected_branches/:name',
  'GET /api/v4/projects/:id/variables',
  'POST /api/v4/projects/:id/variables',
  'GET /api/v4/projects/:id/variables/:key',
  'PUT /api/v4/projects/:id/variables/:key',
  'DELETE /api/v4/projects/:id/variables/:key',
  'GET /api/v4/projects/:id/access_tokens',
  'POST /api/v4/projects/:id/access_tokens',
  'GET /api/v4/projects/:id/access_tokens/:token_id',
  'DELETE /api/v4/projects/:id/access_tokens/:token_id',
  'POST /api/v4/projects/:id/access_tokens/:token_id/rotate',
  'GET /api/v4/projects/:id/deploy_tokens',
  'POST /api/v4/projects/:id/deploy_tokens',
  'GET /api/v4/projects/:id/deploy_tokens/:token_id',
  'DELETE /api/v4/projects/:id/deploy_tokens/:token_id',
  'GET /api/v4/projects/:id/hooks',
  'POST /api/v4/projects/:id/hooks',
  'GET /api/v4/projects/:id/hooks/:hook_id',
  'DELETE /api/v4/projects/:id/hooks/:hook_id',
  /** `state`, `source_branch`, `target_branch`, `labels`, `search`, `iids[]`, pagination. */
  'GET /api/v4/projects/:id/merge_requests',
  'POST /api/v4/projects/:id/merge_requests',
  'GET /api/v4/projects/:id/merge_requests/:merge_request_iid',
  /** title, description, labels, add_labels, remove_labels, target_branch, state_event. */
  'PUT /api/v4/projects/:id/merge_requests/:merge_request_iid',
  'GET /api/v4/projects/:id/merge_requests/:merge_request_iid/diffs',
  'GET /api/v4/projects/:id/merge_requests/:merge_request_iid/changes',
  /** Newest first; `ref`, `sha`, `status`, `source`, `sort` and pagination. */
  'GET /api/v4/projects/:id/pipelines',
  'GET /api/v4/projects/:id/pipelines/:pipeline_id',
  /** Like GitLab: newest job (highest id) first. */
  'GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs',
] as const;

/**
 * Git smart-HTTP operations (`<urls.gitlab>/<group>/<project>.git/...`):
 *
 * - `git-upload-pack:advertise` — `GET info/refs?service=git-upload-pack`,
 *   the first request of a clone or fetch;
 * - `git-upload-pack` — `POST git-upload-pack`, the clone or fetch itself
 *   (fail this one to make `git clone` fail);
 * - `git-receive-pack:advertise` — `GET info/refs?service=git-receive-pack`,
 *   the first request of a push;
 * - `git-receive-pack` — `POST git-receive-pack`, the push itself;
 * - `git-dumb-http` — any other file below `<project>.git/` (dumb protocol).
 */
export const GITLAB_GIT_OPERATIONS = [
  'git-upload-pack:advertise',
  'git-upload-pack',
  'git-receive-pack:advertise',
  'git-receive-pack',
  'git-dumb-http',
] as const;

/**
 * Every operation name the GitLab fake's `operationOf` returns, for fault
 * rules (`POST /__admin/faults {service:'gitlab', operation, ...}`), the
 * operation log and benchmarks:
 *
 * - the REST API: {@link GITLAB_API_OPERATIONS};
 * - git over HTTP: {@link GITLAB_GIT_OPERATIONS};
 * - `GET web` — the minimal web pages at a project's `web_url`
 *   (`/<path>`, `/<path>/-/blob/<ref>/<file>`, `/<path>/-/raw/<ref>/<file>`);
 * - `unknown` — anything else (answered 404).
 */
export const GITLAB_OPERATIONS = [
  ...GITLAB_API_OPERATIONS,
  ...GITLAB_GIT_OPERATIONS,
  'GET web',
  'unknown',
] as const;

export type GitLabApiOperation = (typeof GITLAB_API_OPERATIONS)[number];
export type GitLabGitOperation = (typeof GITLAB_GIT_OPERATIONS)[number];
export type GitLabOperation = (typeof GITLAB_OPERATIONS)[number];

interface CompiledRoute {
  operation: GitLabApiOperation;
  method: string;
  regex: RegExp;
  keys: string[];
}

/**
 * `:name` matches one path segment; `:name*` matches the rest (so file
 * paths and branch names work whether or not their slashes are encoded).
 */
function compile(operation: GitLabApiOperation, pattern?: string): CompiledRoute {
  const [method, route] = operation.split(' ');
  const keys: string[] = [];
  const source = (pattern ?? route)
    .replace(/[.]/g, '\\.')
    .replace(/:(\w+)(\*)?/g, (_m, key: string, rest?: string) => {
      keys.push(key);
      return rest ? '(.+?)' : '([^/]+)';
    });
  return { operation, method, regex: new RegExp(`^${source}/?$`), keys };
}

/** Routes in match order (specific before greedy). */
const API_ROUTES: CompiledRoute[] = [
  ...GITLAB_API_OPERATIONS.flatMap(op => {
    if (op === 'GET /api/v4/projects/:id/repository/archive') {
      return [
        compile(op),
        compile(op, '/api/v4/projects/:id/repository/archive.:format'),
      ];
    }
    if (op === 'GET /api/v4/projects/:id/repository/files/:file_path/raw') {
      return [compile(op, '/api/v4/projects/:id/repository/files/:file_path*/raw')];
    }
    if (op === 'GET /api/v4/projects/:id/repository/files/:file_path') {
      return [compile(op, '/api/v4/projects/:id/repository/files/:file_path*')];
    }
    if (op.endsWith('/repository/branches/:branch')) {
      return [compile(op, '/api/v4/projects/:id/repository/branches/:branch*')];
    }
    if (op.endsWith('/protected_branches/:name')) {
      return [compile(op, '/api/v4/projects/:id/protected_branches/:name*')];
    }
    return [compile(op)];
  }),
];

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The REST operation `req` asks for, with its decoded path parameters. */
export function matchApiRoute(
  method: string,
  reqPath: string,
): { operation: GitLabApiOperation; params: Record<string, string> } | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  for (const route of API_ROUTES) {
    if (route.method !== m) continue;
    const match = route.regex.exec(reqPath);
    if (!match) continue;
    const params: Record<string, string> = {};
    route.keys.forEach((key, i) => {
      params[key] = decode(match[i + 1]);
    });
    return { operation: route.operation, params };
  }
  return undefined;
}

/** A request for a repository over git's HTTP protocol. */
export interface GitHttpRequest {
  operation: GitLabGitOperation;
  /** Project full path, without `.git`. */
  projectPath: string;
  /** Path below the repository folder, e.g. `/info/refs` or `/git-upload-pack`. */
  subPath: string;
}

const GIT_SMART = /^\/(.+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;
const GIT_DUMB = /^\/(.+?)\.git(\/(?:HEAD|objects\/.+|info\/.+))$/;

/** Parses a git smart-HTTP (or dumb-HTTP) request; undefined for anything else. */
export function matchGitRequest(req: Request): GitHttpRequest | undefined {
  if (req.path.startsWith('/api/') || req.path.startsWith('/__admin')) {
    return undefined;
  }
  const smart = GIT_SMART.exec(req.path);
  if (smart) {
    const [, projectPath, what] = smart;
    let operation: GitLabGitOperation;
    if (what === 'info/refs') {
      const service = typeof req.query.service === 'string' ? req.query.service : '';
      if (service === 'git-upload-pack') operation = 'git-upload-pack:advertise';
      else if (service === 'git-receive-pack') operation = 'git-receive-pack:advertise';
      else operation = 'git-dumb-http';
    } else {
      operation = what as 'git-upload-pack' | 'git-receive-pack';
    }
    return { operation, projectPath: decode(projectPath), subPath: `/${what}` };
  }
  const dumb = GIT_DUMB.exec(req.path);
  if (dumb && (req.method === 'GET' || req.method === 'HEAD')) {
    return {
      operation: 'git-dumb-http',
      projectPath: decode(dumb[1]),
      subPath: dumb[2],
    };
  }
  return undefined;
}

/** `operationOf` of the GitLab fake: one of {@link GITLAB_OPERATIONS}. */
export function gitlabOperationOf(req: Request): GitLabOperation {
  const git = matchGitRequest(req);
  if (git) return git.operation;
  if (req.path === '/api/v4' || req.path.startsWith('/api/v4/')) {
    return matchApiRoute(req.method, req.path)?.operation ?? 'unknown';
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && !req.path.startsWith('/api/')) {
    return 'GET web';
  }
  return 'unknown';
}
