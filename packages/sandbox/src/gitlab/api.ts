import { createHash, randomBytes } from 'node:crypto';
import { NextFunction, Request, RequestHandler, Response } from 'express';
import { CommitAction, GitActionError, GitRepos } from '../git';
import { GitLabApiOperation, matchApiRoute } from './operations';
import { CI_CONFIG_PATH, pipelineJsonShapes, recordPipeline } from './pipelines';
import { CommitInfo, isValidBranchName, RepoGit } from './repo';
import {
  GitLabState,
  sha256,
  StoredAccessToken,
  StoredGroup,
  StoredPipeline,
  StoredProject,
  StoredProtectedBranch,
  StoredVariable,
} from './state';

/** An answer with a GitLab-shaped error body (`{message}` or `{error}`). */
export class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const notFound = (what: string) =>
  new HttpError(404, { message: `404 ${what} Not Found` });
const badRequest = (message: unknown) => new HttpError(400, { message });
/** Grape's parameter validation errors use `error`, not `message`. */
const paramError = (error: string) => new HttpError(400, { error });

/** GitLab's rule for a value that can be masked. */
export function canMask(value: string): boolean {
  return value.length >= 8 && /^[A-Za-z0-9+/=@:.~_-]+$/.test(value);
}

const PATH_RULE = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/;
const PATH_RULE_MESSAGE =
  "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";

function isValidPath(p: string): boolean {
  return PATH_RULE.test(p) && !/\.(git|atom)$/i.test(p);
}

const ACCESS_LEVEL_NAMES: Record<number, string> = {
  0: 'No one',
  10: 'Guest',
  20: 'Reporter',
  30: 'Developers + Maintainers',
  40: 'Maintainers',
  50: 'Owner',
  60: 'Admins',
};

const TOKEN_SCOPES = [
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

const ARCHIVE_FORMATS = new Map<string, 'tar' | 'tar.gz' | 'zip'>([
  ['tar', 'tar'],
  ['tar.gz', 'tar.gz'],
  ['tgz', 'tar.gz'],
  ['zip', 'zip'],
]);

type Input = Record<string, unknown>;

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function bool(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  return ['true', '1', 'yes'].includes(String(value).toLowerCase());
}

function int(value: unknown): number | undefined {
  const s = str(value);
  if (s === undefined || s === '' || !/^-?\d+$/.test(s)) return undefined;
  return Number(s);
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  if (typeof value === 'object') return Object.values(value).map(String).filter(Boolean);
  return String(value)
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Ctx {
  req: Request;
  res: Response;
  params: Record<string, string>;
  /** Query and body parameters merged, as Grape does (body wins). */
  input: Input;
}

/** `undefined`: the handler answered itself (raw file, archive). */
type Handler = (ctx: Ctx) => Reply | undefined;

/**
 * The GitLab v4 REST API of the sandbox. Every answer is computed from the
 * persistent state and the real git repositories; nothing secret is logged.
 */
export function createApiHandler(opts: {
  state: GitLabState;
  repos: GitRepos;
  /** Base URL of the fake, e.g. `http://127.0.0.1:7080`. */
  baseUrl: string;
}): RequestHandler {
  const { state, repos, baseUrl } = opts;
  const git = new RepoGit(repos);
  const hostname = new URL(baseUrl).hostname;

  // -------------------------------------------------------------------------
  // JSON shapes
  // -------------------------------------------------------------------------

  const groupJson = (g: StoredGroup) => ({
    id: g.id,
    web_url: `${baseUrl}/groups/${g.full_path}`,
    name: g.name,
    path: g.path,
    description: g.description,
    visibility: g.visibility,
    full_name: g.full_path.split('/').join(' / '),
    full_path: g.full_path,
    parent_id: g.parent_id,
    created_at: g.created_at,
    avatar_url: null,
  });

  const projectJson = (p: StoredProject) => {
    const group = state.group(p.namespace.id);
    const empty = git.isEmpty(p.path_with_namespace);
    return {
      id: p.id,
      description: p.description,
      name: p.name,
      name_with_namespace: `${(group?.full_path ?? p.namespace.full_path)
        .split('/')
        .join(' / ')} / ${p.name}`,
      path: p.path,
      path_with_namespace: p.path_with_namespace,
      created_at: p.created_at,
      last_activity_at: p.created_at,
      default_branch: p.default_branch,
      tag_list: p.topics,
      topics: p.topics,
      ssh_url_to_repo: `git@${hostname}:${p.path_with_namespace}.git`,
      http_url_to_repo: `${baseUrl}/${p.path_with_namespace}.git`,
      web_url: `${baseUrl}/${p.path_with_namespace}`,
      readme_url: null,
      avatar_url: null,
      forks_count: 0,
      star_count: 0,
      namespace: {
        id: p.namespace.id,
        name: group?.name ?? p.namespace.full_path.split('/').pop(),
        path: group?.path ?? p.namespace.full_path.split('/').pop(),
        kind: 'group',
        full_path: p.namespace.full_path,
        parent_id: group?.parent_id ?? null,
        avatar_url: null,
        web_url: `${baseUrl}/groups/${p.namespace.full_path}`,
      },
      visibility: p.visibility,
      empty_repo: empty,
      archived: false,
      repository_access_level: 'enabled',
      marked_for_deletion_at: p.marked_for_deletion_on,
      marked_for_deletion_on: p.marked_for_deletion_on,
      _links: {
        self: `${baseUrl}/api/v4/projects/${p.id}`,
        repo_branches: `${baseUrl}/api/v4/projects/${p.id}/repository/branches`,
      },
    };
  };

  const pipelineShapes = pipelineJsonShapes(baseUrl);

  const commitJson = (p: StoredProject, c: CommitInfo) => ({
    ...c,
    trailers: {},
    extended_trailers: {},
    web_url: `${baseUrl}/${p.path_with_namespace}/-/commit/${c.id}`,
  });

  const isProtected = (p: StoredProject, branch: string) =>
    p.protected_branches.some(pb =>
      pb.name.includes('*')
        ? new RegExp(
            `^${pb.name
              .split('*')
              .map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
              .join('.*')}$`,
          ).test(branch)
        : pb.name === branch,
    );

  const branchJson = (p: StoredProject, name: string, sha: string) => ({
    name,
    commit: commitJson(p, git.commitInfo(p.path_with_namespace, sha)),
    merged: false,
    protected: isProtected(p, name),
    developers_can_push: false,
    developers_can_merge: false,
    can_push: true,
    default: name === p.default_branch,
    web_url: `${baseUrl}/${p.path_with_namespace}/-/tree/${name}`,
  });

  const accessLevels = (level: number) => [
    {
      id: level,
      access_level: level,
      access_level_description: ACCESS_LEVEL_NAMES[level] ?? String(level),
      deploy_key_id: null,
      user_id: null,
      group_id: null,
    },
  ];

  const protectedBranchJson = (pb: StoredProtectedBranch) => ({
    id: pb.id,
    name: pb.name,
    push_access_levels: accessLevels(pb.push_access_level),
    merge_access_levels: accessLevels(pb.merge_access_level),
    unprotect_access_levels: accessLevels(pb.unprotect_access_level),
    allow_force_push: pb.allow_force_push,
    code_owner_approval_required: pb.code_owner_approval_required,
  });

  const variableJson = (v: StoredVariable) => ({
    variable_type: v.variable_type,
    key: v.key,
    value: v.value,
    hidden: false,
    protected: v.protected,
    masked: v.masked,
    raw: v.raw,
    environment_scope: v.environment_scope,
    description: v.description,
  });

  const tokenJson = (t: StoredAccessToken) => ({
    id: t.id,
    name: t.name,
    description: t.description,
    revoked: t.revoked,
    created_at: t.created_at,
    scopes: t.scopes,
    user_id: 100000 + t.id,
    last_used_at: null,
    active: !t.revoked && (!t.expires_at || t.expires_at >= today()),
    expires_at: t.expires_at,
    access_level: t.access_level,
  });

  // -------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------

  const projectOf = (ctx: Ctx): StoredProject => {
    const project = state.project(ctx.params.id);
    if (!project) throw notFound('Project');
    return project;
  };

  const pageOf = (ctx: Ctx) => ({
    perPage: Math.max(1, Math.min(int(ctx.input.per_page) ?? 20, 100)),
    page: Math.max(1, int(ctx.input.page) ?? 1),
  });

  /**
   * GitLab's offset-pagination headers, with `Link` (which gitbeaker
   * follows). Without `total`, like GitLab for commits: no x-total and no
   * last page.
   */
  const pageHeaders = (
    ctx: Ctx,
    page: number,
    perPage: number,
    hasNext: boolean,
    total?: number,
  ): Record<string, string> => {
    const link = (p: number) => {
      const url = ctx.req.originalUrl;
      const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
      query.set('page', String(p));
      query.set('per_page', String(perPage));
      return `${baseUrl}${ctx.req.path}?${query.toString()}`;
    };
    const totalPages = total === undefined ? undefined : Math.max(1, Math.ceil(total / perPage));
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (hasNext) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`);
    if (totalPages !== undefined) links.push(`<${link(totalPages)}>; rel="last"`);
    const headers: Record<string, string> = {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': hasNext ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      link: links.join(', '),
    };
    if (total !== undefined) {
      headers['x-total'] = String(total);
      headers['x-total-pages'] = String(totalPages);
    }
    return headers;
  };

  /** One page of `items` with GitLab's pagination headers. */
  const paginate = <T>(ctx: Ctx, items: T[]): Reply => {
    const { page, perPage } = pageOf(ctx);
    return {
      body: items.slice((page - 1) * perPage, page * perPage),
      headers: pageHeaders(ctx, page, perPage, page * perPage < items.length, items.length),
    };
  };

  /** The commit `ref` (branch, tag or sha; default: the default branch) points at. */
  const commitOf = (p: StoredProject, ref: unknown): string | undefined =>
    repos.resolve(p.path_with_namespace, str(ref) || p.default_branch);

  const normalizeFilePath = (raw: unknown, field: string): string => {
    const filePath = (str(raw) ?? '').replace(/^\/+/, '');
    if (
      !filePath ||
      /[\0\r\n]/.test(filePath) ||
      filePath
        .split('/')
        .some(s => s === '' || s === '.' || s === '..' || s === '.git')
    ) {
      throw badRequest(`Your changes could not be committed, because the ${field} is invalid: ${filePath}`);
    }
    return filePath;
  };

  // -------------------------------------------------------------------------
  // Handlers
  // -------------------------------------------------------------------------

  const handlers: Record<GitLabApiOperation, Handler> = {
    'GET /api/v4/version': () => ({
      body: {
        version: '18.0.0-sandbox',
        revision: 'sandbox',
        kas: { enabled: false, externalUrl: null, externalK8sProxyUrl: null, version: null },
        enterprise: false,
      },
    }),

    'GET /api/v4/user': () => ({
      body: {
        id: 1,
        username: 'sandbox',
        name: 'Sandbox',
        state: 'active',
        locked: false,
        avatar_url: null,
        web_url: `${baseUrl}/sandbox`,
        is_admin: true,
      },
    }),

    'GET /api/v4/groups': ctx => {
      const search = (str(ctx.input.search) ?? '').toLowerCase();
      const groups = state.data.groups.filter(
        g => !search || g.full_path.toLowerCase().includes(search) || g.name.toLowerCase().includes(search),
      );
      return paginate(ctx, groups.map(groupJson));
    },

    'POST /api/v4/groups': ctx => {
      const name = str(ctx.input.name);
      const groupPath = str(ctx.input.path) ?? name;
      if (!name) throw paramError('name is missing');
      if (!groupPath) throw paramError('path is missing');
      if (!isValidPath(groupPath)) {
        throw badRequest(`Failed to save group {:path=>["${PATH_RULE_MESSAGE}"]}`);
      }
      const parentId = int(ctx.input.parent_id);
      let parent: StoredGroup | undefined;
      if (parentId !== undefined) {
        parent = state.group(parentId);
        if (!parent) throw notFound('Parent Group');
      }
      const fullPath = parent ? `${parent.full_path}/${groupPath}` : groupPath;
      if (state.pathTaken(fullPath)) {
        throw badRequest('Failed to save group {:path=>["has already been taken"]}');
      }
      const visibility = str(ctx.input.visibility) ?? 'private';
      if (!['private', 'internal', 'public'].includes(visibility)) {
        throw paramError('visibility does not have a valid value');
      }
      const group: StoredGroup = {
        id: state.nextId('group'),
        name,
        path: groupPath,
        full_path: fullPath,
        parent_id: parent?.id ?? null,
        description: str(ctx.input.description) ?? '',
        visibility,
        created_at: new Date().toISOString(),
      };
      state.data.groups.push(group);
      state.save();
      return { status: 201, body: groupJson(group) };
    },

    'GET /api/v4/groups/:id': ctx => {
      const group = state.group(ctx.params.id);
      if (!group) throw notFound('Group');
      return { body: { ...groupJson(group), projects: [], shared_projects: [] } };
    },

    'POST /api/v4/projects': ctx => {
      const { input } = ctx;
      let name = str(input.name);
      let projectPath = str(input.path);
      if (!name && !projectPath) {
        throw paramError('name, path are missing, at least one parameter must be provided');
      }
      projectPath ??= name!
        .trim()
        .toLowerCase()
        .replace(/\s+/g, '-')
        .replace(/[^a-z0-9_.-]/g, '');
      name ??= projectPath;
      if (!isValidPath(projectPath)) {
        throw badRequest({ path: [PATH_RULE_MESSAGE] });
      }
      const namespaceKey = str(input.namespace_id) ?? str(input.namespace);
      if (!namespaceKey) {
        throw paramError('namespace_id is missing (the sandbox has no personal namespaces)');
      }
      const group = state.group(namespaceKey);
      if (!group) throw notFound('Namespace');
      const fullPath = `${group.full_path}/${projectPath}`;
      const lowerName = name.toLowerCase();
      const nameTaken = state.data.projects.some(
        p => p.namespace.id === group.id && p.name.toLowerCase() === lowerName,
      );
      if (state.pathTaken(fullPath)) {
        throw badRequest({ path: ['has already been taken'], name: ['has already been taken'] });
      }
      if (nameTaken) throw badRequest({ name: ['has already been taken'] });
      const visibility = str(input.visibility) ?? 'private';
      if (!['private', 'internal', 'public'].includes(visibility)) {
        throw paramError('visibility does not have a valid value');
      }
      const defaultBranch = str(input.default_branch) || 'main';
      if (!isValidBranchName(defaultBranch)) {
        throw badRequest({ default_branch: ['is invalid'] });
      }
      const project: StoredProject = {
        id: state.nextId('project'),
        name,
        path: projectPath,
        path_with_namespace: fullPath,
        namespace: { id: group.id, full_path: group.full_path },
        description: str(input.description) ?? '',
        topics: stringList(input.topics) ?? stringList(input.tag_list) ?? [],
        default_branch: defaultBranch,
        visibility,
        created_at: new Date().toISOString(),
        marked_for_deletion_on: null,
        variables: [],
        protected_branches: [],
        access_tokens: [],
        pipelines: [],
      };
      // A repository left behind without state (e.g. a lost gitlab.json) must not leak in.
      repos.remove(fullPath);
      repos.create(fullPath);
      if (defaultBranch !== 'main') git.setDefaultBranch(fullPath, defaultBranch);
      if (bool(input.initialize_with_readme)) {
        repos.commit(fullPath, {
          branch: defaultBranch,
          message: 'Initial commit',
          actions: [
            {
              action: 'create',
              file_path: 'README.md',
              content: `# ${name}\n${project.description ? `\n${project.description}\n` : ''}`,
            },
          ],
        });
      }
      state.data.projects.push(project);
      state.save();
      return { status: 201, body: projectJson(project) };
    },

    'GET /api/v4/projects/:id': ctx => ({ body: projectJson(projectOf(ctx)) }),

    'DELETE /api/v4/projects/:id': ctx => {
      const project = projectOf(ctx);
      if (bool(ctx.input.permanently_remove)) {
        if (str(ctx.input.full_path) !== project.path_with_namespace) {
          throw badRequest(
            '`full_path` is incorrect. You must enter the complete path for the project.',
          );
        }
        if (!project.marked_for_deletion_on) {
          throw badRequest('Project must be marked for deletion first.');
        }
        state.data.projects = state.data.projects.filter(p => p.id !== project.id);
        state.save();
        repos.remove(project.path_with_namespace);
        return { status: 202, body: { message: '202 Accepted' } };
      }
      if (project.marked_for_deletion_on) {
        throw badRequest('Project has been already marked for deletion');
      }
      project.marked_for_deletion_on = today();
      state.save();
      return { status: 202, body: { message: '202 Accepted' } };
    },

    'GET /api/v4/projects/:id/repository/tree': ctx => {
      const project = projectOf(ctx);
      const sha = commitOf(project, ctx.input.ref);
      if (!sha) throw notFound('Tree');
      const dir = (str(ctx.input.path) ?? '').replace(/^\/+|\/+$/g, '');
      const recursive = bool(ctx.input.recursive) ?? false;
      const all = git.tree(project.path_with_namespace, sha);
      if (dir && !all.some(e => e.path === dir && e.type === 'tree')) {
        throw notFound('Tree');
      }
      const prefix = dir ? `${dir}/` : '';
      const entries = all.filter(
        e => e.path.startsWith(prefix) && (recursive || !e.path.slice(prefix.length).includes('/')),
      );
      return paginate(ctx, entries);
    },

    'GET /api/v4/projects/:id/repository/commits': ctx => {
      const project = projectOf(ctx);
      const full = project.path_with_namespace;
      if (git.isEmpty(full)) return paginate(ctx, []);
      const sha = commitOf(project, ctx.input.ref_name);
      if (!sha) throw notFound('Commit');
      const { page, perPage } = pageOf(ctx);
      const filePath = str(ctx.input.path) || undefined;
      // One more than a page tells whether there is a next page.
      const shas = git.log(full, sha, { filePath, skip: (page - 1) * perPage, max: perPage + 1 });
      return {
        body: shas.slice(0, perPage).map(s => commitJson(project, git.commitInfo(full, s))),
        headers: pageHeaders(ctx, page, perPage, shas.length > perPage),
      };
    },

    'POST /api/v4/projects/:id/repository/commits': ctx => {
      const project = projectOf(ctx);
      const full = project.path_with_namespace;
      const { input } = ctx;
      const branch = str(input.branch);
      if (!branch) throw paramError('branch is missing');
      const message = str(input.commit_message);
      if (!message) throw paramError('commit_message is missing');
      // JSON sends an array; a form body (actions[0][action]=…) an object.
      let rawActions: unknown[] | undefined;
      if (Array.isArray(input.actions)) rawActions = input.actions;
      else if (input.actions && typeof input.actions === 'object') rawActions = Object.values(input.actions);
      if (!rawActions) throw paramError('actions is missing');
      if (rawActions.length === 0) throw paramError('actions is empty');
      if (!isValidBranchName(branch)) throw badRequest('Branch name is invalid');

      const actions: CommitAction[] = [];
      rawActions.forEach((raw, i) => {
        if (!raw || typeof raw !== 'object') {
          throw paramError(`actions[${i}] is invalid`);
        }
        const a = raw as Input;
        const action = str(a.action);
        if (!action) throw paramError(`actions[${i}][action] is missing`);
        if (a.file_path === undefined) throw paramError(`actions[${i}][file_path] is missing`);
        const filePath = normalizeFilePath(a.file_path, 'file path');
        const encoding = str(a.encoding) ?? 'text';
        if (encoding !== 'text' && encoding !== 'base64') {
          throw paramError(`actions[${i}][encoding] does not have a valid value`);
        }
        const content = str(a.content);
        switch (action) {
          case 'create':
          case 'update':
            actions.push({ action, file_path: filePath, content: content ?? '', encoding });
            break;
          case 'delete':
            actions.push({ action, file_path: filePath });
            break;
          case 'move': {
            const previous = normalizeFilePath(a.previous_path, 'previous path');
            let moved: { content: string; encoding: 'text' | 'base64' };
            if (content !== undefined) {
              moved = { content, encoding };
            } else {
              const old =
                git.readFile(full, branch, previous) ??
                git.readFile(full, str(input.start_sha) ?? str(input.start_branch) ?? branch, previous);
              if (!old) throw badRequest(`A file with this name doesn't exist: ${previous}`);
              moved = { content: old.toString('base64'), encoding: 'base64' };
            }
            actions.push({ action: 'delete', file_path: previous });
            actions.push({ action: 'create', file_path: filePath, ...moved });
            break;
          }
          case 'chmod':
            throw badRequest('The sandbox does not support the chmod action');
          default:
            throw paramError(`actions[${i}][action] does not have a valid value`);
        }
      });

      const authorName = str(input.author_name);
      const authorEmail = str(input.author_email);
      const author =
        authorName || authorEmail
          ? { name: authorName ?? 'Sandbox', email: authorEmail ?? 'sandbox@localhost' }
          : undefined;

      let createdFrom: string | undefined;
      if (!repos.resolve(full, branch)) {
        const start = str(input.start_sha) ?? str(input.start_branch);
        if (start) {
          const startSha = repos.resolve(full, start);
          if (!startSha) throw badRequest(`Invalid reference name: ${start}`);
          git.createBranch(full, branch, startSha);
          createdFrom = startSha;
        } else if (!git.isEmpty(full)) {
          throw badRequest('You can only create or edit files when you are on a branch');
        }
      }
      const beforeSha = repos.resolve(full, branch);
      let sha: string;
      try {
        sha = repos.commit(full, { branch, message, actions, author });
      } catch (error) {
        if (createdFrom) git.deleteBranch(full, branch, createdFrom);
        if (error instanceof GitActionError) throw badRequest(error.message);
        throw error;
      }
      // A push to the default branch of a project with CI runs its pipeline.
      if (branch === project.default_branch) {
        const ciConfig = git.readFile(full, sha, CI_CONFIG_PATH);
        if (ciConfig) {
          recordPipeline(state, project, {
            ref: branch,
            sha,
            beforeSha,
            ciConfig: ciConfig.toString('utf8'),
          });
          state.save();
        }
      }
      return {
        status: 201,
        body: {
          ...commitJson(project, git.commitInfo(full, sha)),
          stats: { additions: 0, deletions: 0, total: 0 },
          status: null,
          project_id: project.id,
          last_pipeline: null,
        },
      };
    },

    'GET /api/v4/projects/:id/repository/archive': ctx => {
      const project = projectOf(ctx);
      const full = project.path_with_namespace;
      const ref = str(ctx.input.sha) || project.default_branch;
      const sha = repos.resolve(full, ref);
      if (!sha) throw notFound('Commit');
      const ext = (ctx.params.format ?? str(ctx.input.format) ?? 'tar.gz').toLowerCase();
      const format = ARCHIVE_FORMATS.get(ext);
      if (!format) throw notFound('Format');
      const subPath = (str(ctx.input.path) ?? '').replace(/^\/+|\/+$/g, '') || undefined;
      if (subPath && !git.tree(full, sha).some(e => e.path === subPath)) {
        throw notFound('Path');
      }
      const safeRef = ref.replace(/[^A-Za-z0-9_.-]/g, '-');
      const prefix = `${project.path}-${safeRef}-${sha}${subPath ? `-${subPath.replace(/\//g, '-')}` : ''}/`;
      const child = git.archive(full, sha, { format, prefix, subPath });
      ctx.res.status(200);
      ctx.res.setHeader('Content-Type', format === 'zip' ? 'application/zip' : 'application/octet-stream');
      ctx.res.setHeader(
        'Content-Disposition',
        `attachment; filename="${prefix.slice(0, -1)}.${format}"`,
      );
      child.stdout!.pipe(ctx.res);
      ctx.res.on('close', () => {
        if (child.exitCode === null) child.kill();
      });
      return undefined;
    },

    'GET /api/v4/projects/:id/repository/files/:file_path/raw': ctx => {
      const project = projectOf(ctx);
      const full = project.path_with_namespace;
      const ref = str(ctx.input.ref) || project.default_branch;
      const sha = repos.resolve(full, ref);
      if (!sha) throw notFound('Commit');
      const filePath = ctx.params.file_path;
      const blobId = git.blobId(full, sha, filePath);
      const content = blobId ? git.readBlob(full, blobId) : undefined;
      if (!blobId || !content) throw notFound('File');
      const { res } = ctx;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('X-Gitlab-File-Name', encodeURIComponent(filePath.split('/').pop()!));
      res.setHeader('X-Gitlab-File-Path', encodeURIComponent(filePath));
      res.setHeader('X-Gitlab-Ref', encodeURIComponent(ref));
      res.setHeader('X-Gitlab-Blob-Id', blobId);
      res.setHeader('X-Gitlab-Commit-Id', sha);
      res.setHeader('X-Gitlab-Size', String(content.length));
      res.setHeader('ETag', `"${blobId}"`);
      // Like Rack::ConditionalGet: a matching If-None-Match is a 304, even
      // when the client also sends `Cache-Control: no-cache` (as fetch does).
      const ifNoneMatch = ctx.req.headers['if-none-match'];
      if (ifNoneMatch && ifNoneMatch.split(',').some(t => t.trim().replace(/^W\//, '') === `"${blobId}"`)) {
        res.status(304).end();
        return undefined;
      }
      res.send(content);
      return undefined;
    },

    'GET /api/v4/projects/:id/repository/files/:file_path': ctx => {
      const project = projectOf(ctx);
      const full = project.path_with_namespace;
      const ref = str(ctx.input.ref) || project.default_branch;
      const sha = repos.resolve(full, ref);
      if (!sha) throw notFound('Commit');
      const filePath = ctx.params.file_path;
      const blobId = git.blobId(full, sha, filePath);
      const content = blobId ? git.readBlob(full, blobId) : undefined;
      if (!blobId || !content) throw notFound('File');
      const lastCommit = git.log(full, sha, { filePath, max: 1 })[0] ?? sha;
      const body = {
        file_name: filePath.split('/').pop(),
        file_path: filePath,
        size: content.length,
        encoding: 'base64',
        content_sha256: createHash('sha256').update(content).digest('hex'),
        ref,
        blob_id: blobId,
        commit_id: sha,
        last_commit_id: lastCommit,
        execute_filemode: false,
        content: content.toString('base64'),
      };
      const headers = {
        'X-Gitlab-File-Name': encodeURIComponent(body.file_name!),
        'X-Gitlab-File-Path': encodeURIComponent(filePath),
        'X-Gitlab-Ref': encodeURIComponent(ref),
        'X-Gitlab-Blob-Id': blobId,
        'X-Gitlab-Commit-Id': sha,
        'X-Gitlab-Last-Commit-Id': lastCommit,
        'X-Gitlab-Content-Sha256': body.content_sha256,
        'X-Gitlab-Size': String(content.length),
        'X-Gitlab-Encoding': 'base64',
      };
      return { body, headers };
    },

    'GET /api/v4/projects/:id/repository/branches': ctx => {
      const project = projectOf(ctx);
      const search = str(ctx.input.search);
      const branches = git
        .branches(project.path_with_namespace)
        .filter(b => !search || b.name.includes(search));
      return paginate(ctx, branches.map(b => branchJson(project, b.name, b.sha)));
    },

    'GET /api/v4/projects/:id/repository/branches/:branch': ctx => {
      const project = projectOf(ctx);
      const name = ctx.params.branch;
      const branch = git.branches(project.path_with_namespace).find(b => b.name === name);
      if (!branch) throw notFound('Branch');
      return { body: branchJson(project, branch.name, branch.sha) };
    },

    'GET /api/v4/projects/:id/protected_branches': ctx =>
      paginate(ctx, projectOf(ctx).protected_branches.map(protectedBranchJson)),

    'POST /api/v4/projects/:id/protected_branches': ctx => {
      const project = projectOf(ctx);
      const { input } = ctx;
      const name = str(input.name);
      if (!name) throw paramError('name is missing');
      const level = (field: string, allowed: number[], fallback: number) => {
        if (input[field] === undefined || input[field] === '') return fallback;
        const value = int(input[field]);
        if (value === undefined || !allowed.includes(value)) {
          throw paramError(`${field} does not have a valid value`);
        }
        return value;
      };
      const push = level('push_access_level', [0, 30, 40, 60], 40);
      const merge = level('merge_access_level', [0, 30, 40, 60], 40);
      const unprotect = level('unprotect_access_level', [30, 40, 60], 40);
      if (project.protected_branches.some(pb => pb.name === name)) {
        throw new HttpError(409, { message: `Protected branch '${name}' already exists` });
      }
      const pb: StoredProtectedBranch = {
        id: state.nextId('protected_branch'),
        name,
        push_access_level: push,
        merge_access_level: merge,
        unprotect_access_level: unprotect,
        allow_force_push: bool(input.allow_force_push) ?? false,
        code_owner_approval_required: bool(input.code_owner_approval_required) ?? false,
      };
      project.protected_branches.push(pb);
      state.save();
      return { status: 201, body: protectedBranchJson(pb) };
    },

    'GET /api/v4/projects/:id/protected_branches/:name': ctx => {
      const pb = projectOf(ctx).protected_branches.find(b => b.name === ctx.params.name);
      if (!pb) throw new HttpError(404, { message: '404 Not found' });
      return { body: protectedBranchJson(pb) };
    },

    'DELETE /api/v4/projects/:id/protected_branches/:name': ctx => {
      const project = projectOf(ctx);
      const before = project.protected_branches.length;
      project.protected_branches = project.protected_branches.filter(b => b.name !== ctx.params.name);
      if (project.protected_branches.length === before) {
        throw new HttpError(404, { message: '404 Not found' });
      }
      state.save();
      return { status: 204 };
    },

    'GET /api/v4/projects/:id/variables': ctx =>
      paginate(ctx, projectOf(ctx).variables.map(variableJson)),

    'POST /api/v4/projects/:id/variables': ctx => {
      const project = projectOf(ctx);
      const { input } = ctx;
      const key = str(input.key);
      if (!key) throw paramError('key is missing');
      const value = str(input.value);
      if (value === undefined) throw paramError('value is missing');
      if (key.length > 255 || !/^[A-Za-z0-9_]+$/.test(key)) {
        throw badRequest({ key: ["can contain only letters, digits and '_'."] });
      }
      const scope = str(input.environment_scope) || '*';
      if (project.variables.some(v => v.key === key && v.environment_scope === scope)) {
        throw badRequest({ key: [`(${key}) has already been taken`] });
      }
      const variableType = str(input.variable_type) ?? 'env_var';
      if (variableType !== 'env_var' && variableType !== 'file') {
        throw paramError('variable_type does not have a valid value');
      }
      const masked = (bool(input.masked) ?? false) || (bool(input.masked_and_hidden) ?? false);
      if (masked && !canMask(value)) throw badRequest({ value: ['is invalid'] });
      const variable: StoredVariable = {
        key,
        value,
        variable_type: variableType,
        masked,
        protected: bool(input.protected) ?? false,
        raw: bool(input.raw) ?? false,
        environment_scope: scope,
        description: str(input.description) ?? null,
      };
      project.variables.push(variable);
      state.save();
      return { status: 201, body: variableJson(variable) };
    },

    'GET /api/v4/projects/:id/variables/:key': ctx => {
      const [, variable] = findVariable(projectOf(ctx), ctx);
      return { body: variableJson(variable) };
    },

    'PUT /api/v4/projects/:id/variables/:key': ctx => {
      const project = projectOf(ctx);
      const [index, existing] = findVariable(project, ctx);
      const { input } = ctx;
      const variableType = str(input.variable_type) ?? existing.variable_type;
      if (variableType !== 'env_var' && variableType !== 'file') {
        throw paramError('variable_type does not have a valid value');
      }
      const updated: StoredVariable = {
        ...existing,
        value: str(input.value) ?? existing.value,
        variable_type: variableType,
        masked: bool(input.masked) ?? existing.masked,
        protected: bool(input.protected) ?? existing.protected,
        raw: bool(input.raw) ?? existing.raw,
        environment_scope: str(input.environment_scope) || existing.environment_scope,
        description: str(input.description) ?? existing.description,
      };
      if (updated.masked && !canMask(updated.value)) {
        throw badRequest({ value: ['is invalid'] });
      }
      if (
        updated.environment_scope !== existing.environment_scope &&
        project.variables.some(
          v => v.key === updated.key && v.environment_scope === updated.environment_scope,
        )
      ) {
        throw badRequest({ key: [`(${updated.key}) has already been taken`] });
      }
      project.variables[index] = updated;
      state.save();
      return { body: variableJson(updated) };
    },

    'DELETE /api/v4/projects/:id/variables/:key': ctx => {
      const project = projectOf(ctx);
      const [index] = findVariable(project, ctx);
      project.variables.splice(index, 1);
      state.save();
      return { status: 204 };
    },

    'GET /api/v4/projects/:id/pipelines': ctx => {
      const project = projectOf(ctx);
      const { input } = ctx;
      const filters: [keyof StoredPipeline, string | undefined][] = [
        ['ref', str(input.ref)],
        ['sha', str(input.sha)],
        ['status', str(input.status)],
        ['source', str(input.source)],
      ];
      const orderBy = str(input.order_by) ?? 'id';
      if (!['id', 'status', 'ref', 'updated_at', 'user_id'].includes(orderBy)) {
        throw paramError('order_by does not have a valid value');
      }
      const sort = str(input.sort) ?? 'desc';
      if (sort !== 'asc' && sort !== 'desc') throw paramError('sort does not have a valid value');
      const key = (pl: StoredPipeline): string | number =>
        orderBy === 'user_id' || orderBy === 'id' ? pl.id : pl[orderBy as 'status' | 'ref' | 'updated_at'];
      const pipelines = (project.pipelines ?? [])
        .filter(pl => filters.every(([field, value]) => !value || pl[field] === value))
        .sort((a, b) => {
          const [ka, kb] = [key(a), key(b)];
          let order = a.id - b.id;
          if (ka !== kb) order = ka < kb ? -1 : 1;
          return sort === 'asc' ? order : -order;
        });
      return paginate(
        ctx,
        pipelines.map(pl => pipelineShapes.basic(project, pl)),
      );
    },

    'GET /api/v4/projects/:id/pipelines/:pipeline_id': ctx => {
      const project = projectOf(ctx);
      const pipeline = pipelineOf(project, ctx);
      return { body: pipelineShapes.full(project, pipeline, commitOfPipeline(project, pipeline)) };
    },

    'GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs': ctx => {
      const project = projectOf(ctx);
      const pipeline = pipelineOf(project, ctx);
      const scope = stringList(ctx.input.scope ?? ctx.input['scope[]']);
      const commit = commitOfPipeline(project, pipeline);
      const jobs = [...pipeline.jobs]
        .filter(j => !scope || scope.length === 0 || scope.includes(j.status))
        .sort((a, b) => b.id - a.id);
      return paginate(
        ctx,
        jobs.map(j => pipelineShapes.job(project, pipeline, j, commit)),
      );
    },

    'GET /api/v4/projects/:id/access_tokens': ctx =>
      paginate(ctx, projectOf(ctx).access_tokens.map(tokenJson)),

    'POST /api/v4/projects/:id/access_tokens': ctx => {
      const project = projectOf(ctx);
      const { input } = ctx;
      const name = str(input.name);
      if (!name) throw paramError('name is missing');
      const scopes = stringList(input.scopes);
      if (!scopes || scopes.length === 0) throw paramError('scopes is missing');
      if (scopes.some(s => !TOKEN_SCOPES.includes(s))) {
        throw paramError('scopes does not have a valid value');
      }
      const expiresAt = str(input.expires_at) || null;
      if (expiresAt !== null) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) {
          throw paramError('expires_at is invalid');
        }
        if (expiresAt < today()) {
          throw badRequest('Expiration date must be in the future');
        }
      }
      const accessLevel = input.access_level === undefined ? 40 : int(input.access_level);
      if (accessLevel === undefined || ![10, 20, 30, 40, 50].includes(accessLevel)) {
        throw paramError('access_level does not have a valid value');
      }
      const token = `glpat-${randomBytes(15).toString('base64url')}`;
      const stored: StoredAccessToken = {
        id: state.nextId('access_token'),
        name,
        description: str(input.description) ?? null,
        scopes,
        access_level: accessLevel,
        expires_at: expiresAt,
        created_at: new Date().toISOString(),
        revoked: false,
        token_sha256: sha256(token),
      };
      project.access_tokens.push(stored);
      state.save();
      return { status: 201, body: { ...tokenJson(stored), token } };
    },

    'GET /api/v4/projects/:id/access_tokens/:token_id': ctx => {
      const token = projectOf(ctx).access_tokens.find(t => String(t.id) === ctx.params.token_id);
      if (!token) throw notFound('');
      return { body: tokenJson(token) };
    },

    'DELETE /api/v4/projects/:id/access_tokens/:token_id': ctx => {
      const token = projectOf(ctx).access_tokens.find(t => String(t.id) === ctx.params.token_id);
      if (!token || token.revoked) throw notFound('');
      token.revoked = true;
      state.save();
      return { status: 204 };
    },
  };

  /** The pipeline `:pipeline_id` of `project`. */
  function pipelineOf(project: StoredProject, ctx: Ctx): StoredPipeline {
    const id = ctx.params.pipeline_id;
    const pipeline = /^\d+$/.test(id)
      ? (project.pipelines ?? []).find(pl => pl.id === Number(id))
      : undefined;
    if (!pipeline) throw new HttpError(404, { message: '404 Not found' });
    return pipeline;
  }

  /** The commit a pipeline ran for; undefined once it is gone from the repository. */
  function commitOfPipeline(project: StoredProject, pipeline: StoredPipeline): CommitInfo | undefined {
    try {
      return git.commitInfo(project.path_with_namespace, pipeline.sha);
    } catch {
      return undefined;
    }
  }

  /** The variable `:key` (narrowed by `filter[environment_scope]`) and its index. */
  function findVariable(project: StoredProject, ctx: Ctx): [number, StoredVariable] {
    const filter = ctx.input.filter as Input | undefined;
    const scope = filter && typeof filter === 'object' ? str(filter.environment_scope) : undefined;
    const matches = project.variables
      .map((v, i) => [i, v] as [number, StoredVariable])
      .filter(([, v]) => v.key === ctx.params.key && (!scope || v.environment_scope === scope));
    if (matches.length === 0) throw notFound('Variable');
    if (matches.length > 1) {
      throw new HttpError(409, {
        message:
          "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
      });
    }
    return matches[0];
  }

  return (req: Request, res: Response, next: NextFunction) => {
    if (!(req.path === '/api/v4' || req.path.startsWith('/api/v4/'))) {
      next();
      return;
    }
    const route = matchApiRoute(req.method, req.path);
    if (!route) {
      res.status(404).json({ message: '404 Not Found' });
      return;
    }
    const body =
      req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Input) : {};
    const ctx: Ctx = {
      req,
      res,
      params: route.params,
      input: { ...(req.query as Input), ...body },
    };
    try {
      const reply = handlers[route.operation](ctx);
      if (!reply) return;
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status ?? 200);
      if (reply.status === 204) res.end();
      else res.json(reply.body);
    } catch (error) {
      if (error instanceof HttpError) {
        res.status(error.status).json(error.body);
        return;
      }
      next(error);
    }
  };
}

/**
 * Requires a token, as GitLab does: `PRIVATE-TOKEN`, `JOB-TOKEN`,
 * `Authorization: Bearer`, or `private_token` / `access_token` in the query.
 * Any non-empty token is accepted; none is recorded.
 */
export const requireToken: RequestHandler = (req, res, next) => {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value.trim() : '';
  };
  const bearer = /^Bearer\s+(\S+)/i.exec(header('authorization'))?.[1];
  const query = req.query.private_token ?? req.query.access_token;
  if (
    header('private-token') ||
    header('job-token') ||
    bearer ||
    (typeof query === 'string' && query)
  ) {
    next();
    return;
  }
  res.status(401).json({ message: '401 Unauthorized' });
};
