import { createHash } from 'node:crypto';
import { NextFunction, Request, RequestHandler, Response } from 'express';
import { CommitAction, GitActionError, GitRepos, ZERO_SHA } from '../git';
import { UniqueNameError } from '../store';
import { HookDelivery, hookHandlers, RefUpdate } from './hooks';
import {
  badRequest,
  bool,
  Ctx,
  forbidden,
  Handler,
  HttpError,
  Input,
  int,
  notFound,
  pageHeaders,
  pageOf,
  paginate,
  paramError,
  Reply,
  str,
  stringList,
  today,
} from './http';
import { mergeRequestHandlers } from './mergeRequests';
import { isValidProjectName, NAME_MESSAGE, pathErrors } from './names';
import { GitLabApiOperation, matchApiRoute } from './operations';
import { CI_CONFIG_PATH, pipelineJsonShapes, recordPipeline } from './pipelines';
import { CommitInfo, isValidBranchName, RepoGit } from './repo';
import {
  GitLabState,
  StoredGroup,
  StoredPipeline,
  StoredProject,
  StoredProtectedBranch,
  StoredVariable,
} from './state';
import { credentialsOf, isDeadProjectToken, tokenHandlers } from './tokens';

export { HttpError } from './http';

/** GitLab's rule for a value that can be masked. */
export function canMask(value: string): boolean {
  return value.length >= 8 && /^[A-Za-z0-9+/=@:.~_-]+$/.test(value);
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

const ARCHIVE_FORMATS = new Map<string, 'tar' | 'tar.gz' | 'zip'>([
  ['tar', 'tar'],
  ['tar.gz', 'tar.gz'],
  ['tgz', 'tar.gz'],
  ['zip', 'zip'],
]);

const PROJECT_ORDER = ['id', 'name', 'path', 'created_at', 'updated_at', 'last_activity_at'];

/** What the handler modules (tokens, hooks, merge requests) share. */
export interface ApiKit {
  state: GitLabState;
  repos: GitRepos;
  git: RepoGit;
  baseUrl: string;
  /** The project `:id` (404 when missing). */
  projectOf(ctx: Ctx): StoredProject;
  /** The project `:id`, refusing writes to an archived one (403). */
  writableProjectOf(ctx: Ctx): StoredProject;
  paginate<T, U = T>(ctx: Ctx, items: T[], shape?: (item: T) => U | Promise<U>): Promise<Reply>;
  /** After refs moved (commits API or git push): pipelines, hooks, activity. */
  pushed(project: StoredProject, updates: RefUpdate[]): Promise<void>;
  /** Creates a seeded project's repository on first use. */
  ensureRepo(project: StoredProject): Promise<void>;
}

/**
 * The GitLab v4 REST API of the sandbox. Every answer is computed from the
 * persistent state and the real git repositories; nothing secret is logged.
 */
export function createGitLabApi(opts: {
  state: GitLabState;
  repos: GitRepos;
  /** Base URL of the fake, e.g. `http://127.0.0.1:7080`. */
  baseUrl: string;
}): { handler: RequestHandler; kit: ApiKit; hooks: HookDelivery } {
  const { state, repos, baseUrl } = opts;
  const git = new RepoGit(repos);
  const hostname = new URL(baseUrl).hostname;
  const hooks = new HookDelivery(state, git, baseUrl);

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

  const projectJson = async (p: StoredProject) => {
    const group = state.group(p.namespace.id);
    const empty = repos.isLazy(p.path_with_namespace) ? false : await git.isEmpty(p.path_with_namespace);
    return {
      id: p.id,
      description: p.description,
      name: p.name,
      name_with_namespace: `${(group?.full_path ?? p.namespace.full_path).split('/').join(' / ')} / ${p.name}`,
      path: p.path,
      path_with_namespace: p.path_with_namespace,
      created_at: p.created_at,
      last_activity_at: p.last_activity_at ?? p.created_at,
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
      archived: p.archived ?? false,
      repository_access_level: 'enabled',
      marked_for_deletion_at: p.marked_for_deletion_on,
      marked_for_deletion_on: p.marked_for_deletion_on,
      _links: {
        self: `${baseUrl}/api/v4/projects/${p.id}`,
        repo_branches: `${baseUrl}/api/v4/projects/${p.id}/repository/branches`,
        merge_requests: `${baseUrl}/api/v4/projects/${p.id}/merge_requests`,
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

  const branchJson = async (p: StoredProject, name: string, sha: string) => ({
    name,
    commit: commitJson(p, await git.commitInfo(p.path_with_namespace, sha)),
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

  /** A hidden variable's value is never answered (GitLab 17.4+ leaves `value` out). */
  const variableJson = (v: StoredVariable) => ({
    variable_type: v.variable_type,
    key: v.key,
    ...(v.hidden ? {} : { value: v.value }),
    hidden: v.hidden ?? false,
    protected: v.protected,
    masked: v.masked,
    raw: v.raw,
    environment_scope: v.environment_scope,
    description: v.description,
  });

  // -------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------

  /** Seeded projects get their repository when first used. */
  const ensureRepo = (p: StoredProject): Promise<void> => repos.materialize(p.path_with_namespace);

  const projectOf = (ctx: Ctx): StoredProject => {
    const project = state.project(ctx.params.id);
    if (!project) throw notFound('Project');
    return project;
  };

  const writableProjectOf = (ctx: Ctx): StoredProject => {
    const project = projectOf(ctx);
    if (project.archived) throw forbidden();
    return project;
  };

  const page = <T, U = T>(ctx: Ctx, items: T[], shape?: (item: T) => U | Promise<U>) =>
    paginate(baseUrl, ctx, items, shape);

  /** The commit `ref` (branch, tag or sha; default: the default branch) points at. */
  const commitOf = (p: StoredProject, ref: unknown): Promise<string | undefined> =>
    repos.resolve(p.path_with_namespace, str(ref) || p.default_branch);

  const normalizeFilePath = (raw: unknown, field: string): string => {
    const filePath = (str(raw) ?? '').replace(/^\/+/, '');
    if (
      !filePath ||
      /[\0\r\n]/.test(filePath) ||
      filePath.split('/').some(s => s === '' || s === '.' || s === '..' || s === '.git')
    ) {
      throw badRequest(`Your changes could not be committed, because the ${field} is invalid: ${filePath}`);
    }
    return filePath;
  };

  const pushed = async (project: StoredProject, updates: RefUpdate[]): Promise<void> => {
    if (updates.length === 0) return;
    const fresh = state.project(project.id);
    if (fresh) state.projects.put({ ...fresh, last_activity_at: new Date().toISOString() });
    // A push to the default branch of a project with CI runs its pipeline.
    for (const u of updates) {
      if (u.ref !== `refs/heads/${project.default_branch}` || u.after === ZERO_SHA) continue;
      const ciConfig = await git.readFile(project.path_with_namespace, u.after, CI_CONFIG_PATH);
      if (ciConfig) {
        recordPipeline(state, project, {
          ref: project.default_branch,
          sha: u.after,
          beforeSha: u.before === ZERO_SHA ? undefined : u.before,
          ciConfig: ciConfig.toString('utf8'),
        });
      }
    }
    hooks.pushed(project, updates);
  };

  const kit: ApiKit = { state, repos, git, baseUrl, projectOf, writableProjectOf, paginate: page, pushed, ensureRepo };

  /** Projects of `groupIds` (all when undefined) filtered and sorted as GitLab's list APIs do. */
  const listProjects = (ctx: Ctx, groupIds?: number[]): StoredProject[] => {
    const { input } = ctx;
    const topics = stringList(input.topic) ?? [];
    const search = str(input.search)?.toLowerCase();
    const archived = bool(input.archived);
    const visibility = str(input.visibility);
    const orderBy = str(input.order_by) ?? 'created_at';
    if (!PROJECT_ORDER.includes(orderBy)) throw paramError('order_by does not have a valid value');
    const sort = str(input.sort) ?? 'desc';
    if (sort !== 'asc' && sort !== 'desc') throw paramError('sort does not have a valid value');
    const all = groupIds ? groupIds.flatMap(id => state.projects.list({ parent: id })) : state.projects.list();
    const key = (p: StoredProject): string | number => {
      switch (orderBy) {
        case 'id':
          return p.id;
        case 'name':
          return p.name.toLowerCase();
        case 'path':
          return p.path.toLowerCase();
        case 'updated_at':
        case 'last_activity_at':
          return p.last_activity_at ?? p.created_at;
        default:
          return p.created_at;
      }
    };
    return all
      .filter(p => topics.every(t => p.topics.some(pt => pt.toLowerCase() === t.toLowerCase())))
      .filter(
        p =>
          !search ||
          p.name.toLowerCase().includes(search) ||
          p.path.toLowerCase().includes(search) ||
          (bool(input.search_namespaces) === true && p.path_with_namespace.toLowerCase().includes(search)) ||
          p.description.toLowerCase().includes(search),
      )
      .filter(p => archived === undefined || (p.archived ?? false) === archived)
      .filter(p => !visibility || p.visibility === visibility)
      .sort((a, b) => {
        const [ka, kb] = [key(a), key(b)];
        let order = a.id - b.id;
        if (ka !== kb) order = ka < kb ? -1 : 1;
        return sort === 'asc' ? order : -order;
      });
  };

  const setArchived = async (ctx: Ctx, archived: boolean): Promise<Reply> => {
    const project = projectOf(ctx);
    const updated = state.projects.put({ ...project, archived });
    return { status: 201, body: await projectJson(updated) };
  };

  // -------------------------------------------------------------------------
  // Handlers
  // -------------------------------------------------------------------------

  const core: Record<string, Handler> = {
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
      const groups = state.groups
        .list()
        .filter(g => !search || g.full_path.toLowerCase().includes(search) || g.name.toLowerCase().includes(search));
      return page(ctx, groups, groupJson);
    },

    'POST /api/v4/groups': ctx => {
      const name = str(ctx.input.name);
      const groupPath = str(ctx.input.path) ?? name;
      if (!name) throw paramError('name is missing');
      if (!groupPath) throw paramError('path is missing');
      const parentId = int(ctx.input.parent_id);
      let parent: StoredGroup | undefined;
      if (parentId !== undefined) {
        parent = state.group(parentId);
        if (!parent) throw notFound('Parent Group');
      }
      const errors = pathErrors(groupPath, 'group', !parent);
      if (errors.length) {
        throw badRequest(`Failed to save group {:path=>${JSON.stringify(errors)}}`);
      }
      const fullPath = parent ? `${parent.full_path}/${groupPath}` : groupPath;
      if (state.pathTaken(fullPath)) {
        throw badRequest('Failed to save group {:path=>["has already been taken"]}');
      }
      const visibility = str(ctx.input.visibility) ?? 'private';
      if (!['private', 'internal', 'public'].includes(visibility)) {
        throw paramError('visibility does not have a valid value');
      }
      const group = state.groups.put({
        id: state.nextId('group'),
        name,
        path: groupPath,
        full_path: fullPath,
        parent_id: parent?.id ?? null,
        description: str(ctx.input.description) ?? '',
        visibility,
        created_at: new Date().toISOString(),
      });
      return { status: 201, body: groupJson(group) };
    },

    'GET /api/v4/groups/:id': ctx => {
      const group = state.group(ctx.params.id);
      if (!group) throw notFound('Group');
      return { body: { ...groupJson(group), projects: [], shared_projects: [] } };
    },

    'GET /api/v4/groups/:id/projects': ctx => {
      const group = state.group(ctx.params.id);
      if (!group) throw notFound('Group');
      const ids = state.groupIds(group, bool(ctx.input.include_subgroups) ?? false);
      return page(ctx, listProjects(ctx, ids), projectJson);
    },

    'GET /api/v4/projects': ctx => page(ctx, listProjects(ctx), projectJson),

    'POST /api/v4/projects': async ctx => {
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
      const errors = pathErrors(projectPath, 'project');
      if (errors.length) throw badRequest({ path: errors });
      if (!isValidProjectName(name)) throw badRequest({ name: [NAME_MESSAGE] });
      const namespaceKey = str(input.namespace_id) ?? str(input.namespace);
      if (!namespaceKey) {
        throw paramError('namespace_id is missing (the sandbox has no personal namespaces)');
      }
      const group = state.group(namespaceKey);
      if (!group) throw notFound('Namespace');
      const visibility = str(input.visibility) ?? 'private';
      if (!['private', 'internal', 'public'].includes(visibility)) {
        throw paramError('visibility does not have a valid value');
      }
      const defaultBranch = str(input.default_branch) || 'main';
      if (!(await isValidBranchName(defaultBranch))) {
        throw badRequest({ default_branch: ['is invalid'] });
      }
      const fullPath = `${group.full_path}/${projectPath}`;
      // From here to the insert nothing awaits: of two concurrent creates
      // of one path, exactly one passes the check.
      const lowerName = name.toLowerCase();
      const nameTaken = state.projects
        .list({ parent: group.id })
        .some(p => p.name.toLowerCase() === lowerName);
      const taken = () => badRequest({ path: ['has already been taken'], name: ['has already been taken'] });
      if (state.pathTaken(fullPath)) throw taken();
      if (nameTaken) throw badRequest({ name: ['has already been taken'] });
      const now = new Date().toISOString();
      let project: StoredProject = {
        id: state.nextId('project'),
        name,
        path: projectPath,
        path_with_namespace: fullPath,
        namespace: { id: group.id, full_path: group.full_path },
        description: str(input.description) ?? '',
        topics: stringList(input.topics) ?? stringList(input.tag_list) ?? [],
        default_branch: defaultBranch,
        visibility,
        created_at: now,
        last_activity_at: now,
        archived: false,
        marked_for_deletion_on: null,
        variables: [],
        protected_branches: [],
      };
      try {
        state.projects.put(project);
      } catch (error) {
        if (error instanceof UniqueNameError) throw taken();
        throw error;
      }
      try {
        await repos.exclusive(fullPath, async () => {
          // A repository left behind without state (e.g. lost state) must not leak in.
          await repos.remove(fullPath);
          await repos.create(fullPath, defaultBranch);
        });
        if (bool(input.initialize_with_readme)) {
          const { sha } = await repos.commit(fullPath, {
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
          await pushed(project, [{ ref: `refs/heads/${defaultBranch}`, before: ZERO_SHA, after: sha }]);
          project = state.project(project.id) ?? project;
        }
      } catch (error) {
        state.deleteProject(project.id);
        await repos.remove(fullPath).catch(() => undefined);
        throw error;
      }
      return { status: 201, body: await projectJson(project) };
    },

    'GET /api/v4/projects/:id': async ctx => ({ body: await projectJson(projectOf(ctx)) }),

    'DELETE /api/v4/projects/:id': async ctx => {
      const project = projectOf(ctx);
      if (bool(ctx.input.permanently_remove)) {
        if (str(ctx.input.full_path) !== project.path_with_namespace) {
          throw badRequest('`full_path` is incorrect. You must enter the complete path for the project.');
        }
        if (!project.marked_for_deletion_on) {
          throw badRequest('Project must be marked for deletion first.');
        }
        state.deleteProject(project.id);
        await repos.exclusive(project.path_with_namespace, () => repos.remove(project.path_with_namespace));
        return { status: 202, body: { message: '202 Accepted' } };
      }
      if (project.marked_for_deletion_on) {
        throw badRequest('Project has been already marked for deletion');
      }
      state.projects.put({ ...project, marked_for_deletion_on: today() });
      return { status: 202, body: { message: '202 Accepted' } };
    },

    'POST /api/v4/projects/:id/archive': ctx => setArchived(ctx, true),
    'POST /api/v4/projects/:id/unarchive': ctx => setArchived(ctx, false),

    'GET /api/v4/projects/:id/repository/tree': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const sha = await commitOf(project, ctx.input.ref);
      if (!sha) throw notFound('Tree');
      const dir = (str(ctx.input.path) ?? '').replace(/^\/+|\/+$/g, '');
      const recursive = bool(ctx.input.recursive) ?? false;
      const all = await git.tree(project.path_with_namespace, sha);
      if (dir && !all.some(e => e.path === dir && e.type === 'tree')) throw notFound('Tree');
      const prefix = dir ? `${dir}/` : '';
      const entries = all.filter(
        e => e.path.startsWith(prefix) && (recursive || !e.path.slice(prefix.length).includes('/')),
      );
      return page(ctx, entries);
    },

    'GET /api/v4/projects/:id/repository/commits': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      if (await git.isEmpty(full)) return page(ctx, []);
      const sha = await commitOf(project, ctx.input.ref_name);
      if (!sha) throw notFound('Commit');
      const { page: n, perPage } = pageOf(ctx);
      const filePath = str(ctx.input.path) || undefined;
      // One more than a page tells whether there is a next page.
      const shas = await git.log(full, sha, { filePath, skip: (n - 1) * perPage, max: perPage + 1 });
      const body = await Promise.all(shas.slice(0, perPage).map(async s => commitJson(project, await git.commitInfo(full, s))));
      return { body, headers: pageHeaders(baseUrl, ctx, n, perPage, shas.length > perPage) };
    },

    'POST /api/v4/projects/:id/repository/commits': async ctx => {
      const project = writableProjectOf(ctx);
      await ensureRepo(project);
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
      if (!(await isValidBranchName(branch))) throw badRequest('Branch name is invalid');

      const actions: CommitAction[] = [];
      for (const [i, raw] of rawActions.entries()) {
        if (!raw || typeof raw !== 'object') throw paramError(`actions[${i}] is invalid`);
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
        const executeFilemode = bool(a.execute_filemode);
        switch (action) {
          case 'create':
          case 'update':
            actions.push({ action, file_path: filePath, content: content ?? '', encoding, execute_filemode: executeFilemode });
            break;
          case 'delete':
            actions.push({ action, file_path: filePath });
            break;
          case 'chmod':
            if (executeFilemode === undefined) throw paramError(`actions[${i}][execute_filemode] is missing`);
            actions.push({ action, file_path: filePath, execute_filemode: executeFilemode });
            break;
          case 'move': {
            const previous = normalizeFilePath(a.previous_path, 'previous path');
            let moved: { content: string; encoding: 'text' | 'base64' };
            if (content !== undefined) {
              moved = { content, encoding };
            } else {
              const old =
                (await git.readFile(full, branch, previous)) ??
                (await git.readFile(full, str(input.start_sha) ?? str(input.start_branch) ?? branch, previous));
              if (!old) throw badRequest(`A file with this name doesn't exist: ${previous}`);
              moved = { content: old.toString('base64'), encoding: 'base64' };
            }
            actions.push({ action: 'delete', file_path: previous });
            actions.push({ action: 'create', file_path: filePath, ...moved, execute_filemode: executeFilemode });
            break;
          }
          default:
            throw paramError(`actions[${i}][action] does not have a valid value`);
        }
      }

      const authorName = str(input.author_name);
      const authorEmail = str(input.author_email);
      const author =
        authorName || authorEmail
          ? { name: authorName ?? 'Sandbox', email: authorEmail ?? 'sandbox@localhost' }
          : undefined;

      // `force`: replace the branch with one commit on top of the start
      // (GitLab: "overwrites the target branch with a new commit based on
      // the start_branch or start_sha").
      const force = bool(input.force) ?? false;
      const branchExists = !!(await repos.resolve(full, `refs/heads/${branch}`));
      let startSha: string | undefined;
      if (!branchExists || force) {
        const start = str(input.start_sha) ?? str(input.start_branch);
        if (start) {
          startSha = await repos.resolve(full, start);
          if (!startSha) throw badRequest(`Invalid reference name: ${start}`);
        } else if (!branchExists && !(await git.isEmpty(full))) {
          throw badRequest('You can only create or edit files when you are on a branch');
        }
      }
      let result: { sha: string; parent?: string };
      try {
        result = await repos.commit(full, { branch, message, actions, author, startSha, force: force && !!startSha });
      } catch (error) {
        if (error instanceof GitActionError) throw badRequest(error.message);
        throw error;
      }
      await pushed(project, [{ ref: `refs/heads/${branch}`, before: result.parent ?? ZERO_SHA, after: result.sha }]);
      return {
        status: 201,
        body: {
          ...commitJson(project, await git.commitInfo(full, result.sha)),
          stats: { additions: 0, deletions: 0, total: 0 },
          status: null,
          project_id: project.id,
          last_pipeline: null,
        },
      };
    },

    'GET /api/v4/projects/:id/repository/compare': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      const fromRef = str(ctx.input.from);
      const toRef = str(ctx.input.to);
      if (!fromRef) throw paramError('from is missing');
      if (!toRef) throw paramError('to is missing');
      const from = await repos.resolve(full, fromRef);
      const to = await repos.resolve(full, toRef);
      if (!from || !to) throw notFound('Ref');
      const straight = bool(ctx.input.straight) ?? false;
      const base = straight ? from : (await git.mergeBase(full, from, to)) ?? from;
      const shas = await git.log(full, to, { not: [base], reverse: true });
      const commits = await Promise.all(shas.map(async s => commitJson(project, await git.commitInfo(full, s))));
      const diffs = await git.diff(full, base, to);
      return {
        body: {
          commit: commits[commits.length - 1] ?? null,
          commits,
          diffs,
          compare_timeout: false,
          compare_same_ref: from === to,
          web_url: `${baseUrl}/${full}/-/compare/${from}...${to}`,
        },
      };
    },

    'GET /api/v4/projects/:id/repository/archive': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      const ref = str(ctx.input.sha) || project.default_branch;
      const sha = await repos.resolve(full, ref);
      if (!sha) throw notFound('Commit');
      const ext = (ctx.params.format ?? str(ctx.input.format) ?? 'tar.gz').toLowerCase();
      const format = ARCHIVE_FORMATS.get(ext);
      if (!format) throw notFound('Format');
      const subPath = (str(ctx.input.path) ?? '').replace(/^\/+|\/+$/g, '') || undefined;
      if (subPath && !(await git.tree(full, sha)).some(e => e.path === subPath)) throw notFound('Path');
      const safeRef = ref.replace(/[^A-Za-z0-9_.-]/g, '-');
      const prefix = `${project.path}-${safeRef}-${sha}${subPath ? `-${subPath.replace(/\//g, '-')}` : ''}/`;
      const child = git.archive(full, sha, { format, prefix, subPath });
      ctx.res.status(200);
      ctx.res.setHeader('Content-Type', format === 'zip' ? 'application/zip' : 'application/octet-stream');
      ctx.res.setHeader('Content-Disposition', `attachment; filename="${prefix.slice(0, -1)}.${format}"`);
      child.stdout!.pipe(ctx.res);
      ctx.res.on('close', () => {
        if (child.exitCode === null) child.kill();
      });
      return undefined;
    },

    'GET /api/v4/projects/:id/repository/files/:file_path/raw': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      const ref = str(ctx.input.ref) || project.default_branch;
      const sha = await repos.resolve(full, ref);
      if (!sha) throw notFound('Commit');
      const filePath = ctx.params.file_path;
      const blobId = await git.blobId(full, sha, filePath);
      const content = blobId ? await git.readBlob(full, blobId) : undefined;
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

    'GET /api/v4/projects/:id/repository/files/:file_path': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      const ref = str(ctx.input.ref) || project.default_branch;
      const sha = await repos.resolve(full, ref);
      if (!sha) throw notFound('Commit');
      const filePath = ctx.params.file_path;
      const blob = await git.blob(full, sha, filePath);
      const content = blob ? await git.readBlob(full, blob.id) : undefined;
      if (!blob || !content) throw notFound('File');
      const lastCommit = (await git.log(full, sha, { filePath, max: 1 }))[0] ?? sha;
      const body = {
        file_name: filePath.split('/').pop(),
        file_path: filePath,
        size: content.length,
        encoding: 'base64',
        content_sha256: createHash('sha256').update(content).digest('hex'),
        ref,
        blob_id: blob.id,
        commit_id: sha,
        last_commit_id: lastCommit,
        execute_filemode: blob.mode === '100755',
        content: content.toString('base64'),
      };
      const headers = {
        'X-Gitlab-File-Name': encodeURIComponent(body.file_name!),
        'X-Gitlab-File-Path': encodeURIComponent(filePath),
        'X-Gitlab-Ref': encodeURIComponent(ref),
        'X-Gitlab-Blob-Id': blob.id,
        'X-Gitlab-Commit-Id': sha,
        'X-Gitlab-Last-Commit-Id': lastCommit,
        'X-Gitlab-Content-Sha256': body.content_sha256,
        'X-Gitlab-Size': String(content.length),
        'X-Gitlab-Encoding': 'base64',
        'X-Gitlab-Execute-Filemode': String(body.execute_filemode),
      };
      return { body, headers };
    },

    'GET /api/v4/projects/:id/repository/branches': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const search = str(ctx.input.search);
      const branches = (await git.branches(project.path_with_namespace)).filter(b => !search || b.name.includes(search));
      return page(ctx, branches, b => branchJson(project, b.name, b.sha));
    },

    'POST /api/v4/projects/:id/repository/branches': async ctx => {
      const project = writableProjectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      const name = str(ctx.input.branch);
      const ref = str(ctx.input.ref);
      if (!name) throw paramError('branch is missing');
      if (!ref) throw paramError('ref is missing');
      if (!(await isValidBranchName(name))) throw badRequest('Branch name is invalid');
      const sha = await repos.resolve(full, ref);
      if (!sha) throw badRequest(`Invalid reference name: ${ref}`);
      const created = await repos.exclusive(full, async () => {
        if (await repos.resolve(full, `refs/heads/${name}`)) return false;
        await git.createBranch(full, name, sha);
        return true;
      });
      if (!created) throw badRequest('Branch already exists');
      await pushed(project, [{ ref: `refs/heads/${name}`, before: ZERO_SHA, after: sha }]);
      return { status: 201, body: await branchJson(project, name, sha) };
    },

    'GET /api/v4/projects/:id/repository/branches/:branch': async ctx => {
      const project = projectOf(ctx);
      await ensureRepo(project);
      const name = ctx.params.branch;
      const branch = (await git.branches(project.path_with_namespace)).find(b => b.name === name);
      if (!branch) throw notFound('Branch');
      return { body: await branchJson(project, branch.name, branch.sha) };
    },

    'DELETE /api/v4/projects/:id/repository/branches/:branch': async ctx => {
      const project = writableProjectOf(ctx);
      await ensureRepo(project);
      const full = project.path_with_namespace;
      const name = ctx.params.branch;
      const sha = await repos.resolve(full, `refs/heads/${name}`);
      if (!sha) throw notFound('Branch');
      if (name === project.default_branch) throw new HttpError(405, { message: 'Cannot remove HEAD branch' });
      if (isProtected(project, name)) throw new HttpError(405, { message: 'Protected branch cant be removed' });
      await repos.exclusive(full, () => git.deleteBranch(full, name, sha));
      await pushed(project, [{ ref: `refs/heads/${name}`, before: sha, after: ZERO_SHA }]);
      return { status: 204 };
    },

    'GET /api/v4/projects/:id/protected_branches': ctx => page(ctx, projectOf(ctx).protected_branches, protectedBranchJson),

    'POST /api/v4/projects/:id/protected_branches': ctx => {
      const project = projectOf(ctx);
      const { input } = ctx;
      const name = str(input.name);
      if (!name) throw paramError('name is missing');
      const level = (field: string, allowed: number[], fallback: number) => {
        if (input[field] === undefined || input[field] === '') return fallback;
        const value = int(input[field]);
        if (value === undefined || !allowed.includes(value)) throw paramError(`${field} does not have a valid value`);
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
      state.projects.put({ ...project, protected_branches: [...project.protected_branches, pb] });
      return { status: 201, body: protectedBranchJson(pb) };
    },

    'GET /api/v4/projects/:id/protected_branches/:name': ctx => {
      const pb = projectOf(ctx).protected_branches.find(b => b.name === ctx.params.name);
      if (!pb) throw new HttpError(404, { message: '404 Not found' });
      return { body: protectedBranchJson(pb) };
    },

    'DELETE /api/v4/projects/:id/protected_branches/:name': ctx => {
      const project = projectOf(ctx);
      const kept = project.protected_branches.filter(b => b.name !== ctx.params.name);
      if (kept.length === project.protected_branches.length) throw new HttpError(404, { message: '404 Not found' });
      state.projects.put({ ...project, protected_branches: kept });
      return { status: 204 };
    },

    'GET /api/v4/projects/:id/variables': ctx => page(ctx, projectOf(ctx).variables, variableJson),

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
      const hidden = bool(input.masked_and_hidden) ?? false;
      const masked = (bool(input.masked) ?? false) || hidden;
      if (masked && !canMask(value)) throw badRequest({ value: ['is invalid'] });
      const variable: StoredVariable = {
        key,
        value,
        variable_type: variableType,
        masked,
        ...(hidden ? { hidden } : {}),
        protected: bool(input.protected) ?? false,
        raw: bool(input.raw) ?? false,
        environment_scope: scope,
        description: str(input.description) ?? null,
      };
      state.projects.put({ ...project, variables: [...project.variables, variable] });
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
      if (input.masked_and_hidden !== undefined && (bool(input.masked_and_hidden) ?? false) !== (existing.hidden ?? false)) {
        throw badRequest('The visibility setting cannot be changed for existing variables.');
      }
      if (existing.hidden && input.masked !== undefined && bool(input.masked) === false) {
        throw badRequest('The visibility setting cannot be changed for existing variables.');
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
      if (updated.masked && !canMask(updated.value)) throw badRequest({ value: ['is invalid'] });
      if (
        updated.environment_scope !== existing.environment_scope &&
        project.variables.some(v => v.key === updated.key && v.environment_scope === updated.environment_scope)
      ) {
        throw badRequest({ key: [`(${updated.key}) has already been taken`] });
      }
      const variables = [...project.variables];
      variables[index] = updated;
      state.projects.put({ ...project, variables });
      return { body: variableJson(updated) };
    },

    'DELETE /api/v4/projects/:id/variables/:key': ctx => {
      const project = projectOf(ctx);
      const [index] = findVariable(project, ctx);
      state.projects.put({ ...project, variables: project.variables.filter((_v, i) => i !== index) });
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
      const pipelines = state.pipelines
        .list({ parent: project.id })
        .filter(pl => filters.every(([field, value]) => !value || pl[field] === value))
        .sort((a, b) => {
          const [ka, kb] = [key(a), key(b)];
          let order = a.id - b.id;
          if (ka !== kb) order = ka < kb ? -1 : 1;
          return sort === 'asc' ? order : -order;
        });
      return page(ctx, pipelines, pl => pipelineShapes.basic(project, pl));
    },

    'GET /api/v4/projects/:id/pipelines/:pipeline_id': async ctx => {
      const project = projectOf(ctx);
      const pipeline = pipelineOf(project, ctx);
      return { body: pipelineShapes.full(project, pipeline, await commitOfPipeline(project, pipeline)) };
    },

    'GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs': async ctx => {
      const project = projectOf(ctx);
      const pipeline = pipelineOf(project, ctx);
      const scope = stringList(ctx.input.scope ?? ctx.input['scope[]']);
      const commit = await commitOfPipeline(project, pipeline);
      const jobs = [...pipeline.jobs]
        .filter(j => !scope || scope.length === 0 || scope.includes(j.status))
        .sort((a, b) => b.id - a.id);
      return page(ctx, jobs, j => pipelineShapes.job(project, pipeline, j, commit));
    },
  };

  /** The pipeline `:pipeline_id` of `project`. */
  function pipelineOf(project: StoredProject, ctx: Ctx): StoredPipeline {
    const id = ctx.params.pipeline_id;
    const pipeline = /^\d+$/.test(id) ? state.pipelines.get(id) : undefined;
    if (!pipeline || pipeline.project_id !== project.id) throw new HttpError(404, { message: '404 Not found' });
    return pipeline;
  }

  /** The commit a pipeline ran for; undefined once it is gone from the repository. */
  async function commitOfPipeline(project: StoredProject, pipeline: StoredPipeline): Promise<CommitInfo | undefined> {
    try {
      return await git.commitInfo(project.path_with_namespace, pipeline.sha);
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
        message: "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
      });
    }
    return matches[0];
  }

  const handlers = {
    ...core,
    ...tokenHandlers(kit),
    ...hookHandlers(kit),
    ...mergeRequestHandlers(kit),
  } as Record<GitLabApiOperation, Handler>;

  const handler: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (!(req.path === '/api/v4' || req.path.startsWith('/api/v4/'))) {
      next();
      return;
    }
    const route = matchApiRoute(req.method, req.path);
    if (!route) {
      res.status(404).json({ message: '404 Not Found' });
      return;
    }
    const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Input) : {};
    const ctx: Ctx = { req, res, params: route.params, input: { ...(req.query as Input), ...body } };
    Promise.resolve()
      .then(() => handlers[route.operation](ctx))
      .then(reply => {
        if (!reply) return;
        if (reply.headers) res.set(reply.headers);
        res.status(reply.status ?? 200);
        if (reply.status === 204) res.end();
        else res.json(reply.body);
      })
      .catch(error => {
        if (error instanceof HttpError) {
          res.status(error.status).json(error.body);
          return;
        }
        next(error);
      });
  };

  return { handler, kit, hooks };
}

/**
 * Requires a token, as GitLab does: `PRIVATE-TOKEN`, `JOB-TOKEN`,
 * `Authorization: Bearer`, or `private_token` / `access_token` in the query.
 * Any non-empty token is accepted, except a project access token that has
 * been revoked or has expired; none is recorded.
 */
export function requireToken(state: GitLabState): RequestHandler {
  return (req, res, next) => {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value.trim() : '';
    };
    const query = req.query.private_token ?? req.query.access_token;
    const token =
      credentialsOf(req)?.token || header('job-token') || (typeof query === 'string' ? query : '');
    if (token && !isDeadProjectToken(state, token)) {
      next();
      return;
    }
    res.status(401).json({ message: '401 Unauthorized' });
  };
}
