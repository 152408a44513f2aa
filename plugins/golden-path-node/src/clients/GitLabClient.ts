import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { GitLabConnection, readGitLabConnection } from '../config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  AccessLevel,
  AccessTokenSchema,
  AccessTokenScopes,
  AddResourceHookOptions,
  CommitAction,
  Gitlab,
  ProjectSchema,
  ProtectedBranchAccessLevel,
} from '@gitbeaker/rest';
import {
  GitLabApi,
  GitLabFile,
  GitLabHook,
  GitLabProject,
  GitLabVariableRef,
} from './types';
import type {
  GitLabChangesApi,
  GitLabCommit,
  GitLabCommitChange,
  GitLabMergeRequest,
  GitLabTreeFile,
} from './types';

/**
 * GitLab's rules for a masked CI/CD variable value: at least 8 characters,
 * one line, only the Base64 alphabet (RFC 4648) plus `@ : . ~ - _ + / =`.
 */
const MASKABLE_MIN_LENGTH = 8;
const MASKABLE_CHARACTERS = /^[A-Za-z0-9+/=@:.~_-]*$/;

/** Tree entries are listed 100 at a time (GitLab's maximum page size). */
const TREE_PAGE_SIZE = 100;

/**
 * {@link GitLabApi} on top of gitbeaker. Every gitbeaker or HTTP failure is
 * turned into a Backstage error by {@link GitLabClient.toBackstageError}.
 */
export class GitLabClient implements GitLabApi, GitLabChangesApi {
  /** Typed without camelize: responses keep GitLab's snake_case keys. */
  private readonly api: Gitlab<false>;
  private readonly host: string;
  private readonly logger?: LoggerService;

  /**
   * Builds the client from `goldenPath.gitlab.host` and the
   * `integrations.gitlab[]` entry for that host (see
   * {@link readGitLabConnection}).
   */
  static fromConfig(
    config: Config,
    options: { logger?: LoggerService } = {},
  ): GitLabClient {
    return GitLabClient.fromConnection(readGitLabConnection(config), options);
  }

  /** From a connection read once (see {@link readGitLabConnection}). */
  static fromConnection(
    connection: GitLabConnection,
    options: { logger?: LoggerService } = {},
  ): GitLabClient {
    return new GitLabClient({
      api: new Gitlab({
        host: connection.gitbeakerHost,
        token: connection.token,
      }),
      host: connection.host,
      logger: options.logger,
    });
  }

  /**
   * @param options.api - a gitbeaker client with the token (no `camelize`)
   * @param options.host - the GitLab host, used in error messages
   */
  constructor(options: {
    api: InstanceType<typeof Gitlab>;
    host: string;
    logger?: LoggerService;
  }) {
    if (options.api.camelize) {
      throw new Error(
        'GitLabClient needs a gitbeaker client created without camelize',
      );
    }
    this.api = options.api as Gitlab<false>;
    this.host = options.host;
    this.logger = options.logger;
  }

  async findProject(fullPath: string): Promise<GitLabProject | undefined> {
    try {
      return toGitLabProject(await this.api.Projects.show(fullPath));
    } catch (error) {
      const mapped = this.toBackstageError(error, `read project ${fullPath}`);
      if (mapped instanceof NotFoundError) {
        return undefined;
      }
      throw mapped;
    }
  }

  async listVariables(projectId: number): Promise<GitLabVariableRef[]> {
    try {
      const variables = await this.api.ProjectVariables.all(projectId, {
        perPage: 100,
      });
      // GitLab answers with the values too: keep only key and scope.
      return variables.map(v => ({
        key: v.key,
        environmentScope: v.environment_scope ?? '*',
      }));
    } catch (error) {
      throw this.toBackstageError(
        error,
        `list CI/CD variables of project ${projectId}`,
      );
    }
  }

  async deleteVariable(
    projectId: number,
    variable: GitLabVariableRef,
  ): Promise<void> {
    // The scope goes in the query string (gitbeaker would send it as a
    // DELETE body, which proxies may drop): without it GitLab removes
    // whichever variable of that key it finds first.
    await this.removeOrGone(
      `remove CI/CD variable ${variable.key} of project ${projectId}`,
      () =>
        this.api.requester.delete(
          `projects/${projectId}/variables/${encodeURIComponent(variable.key)}`,
          { searchParams: { filter: { environmentScope: variable.environmentScope } } },
        ),
    );
  }

  async listActiveProjectAccessTokens(
    projectId: number,
  ): Promise<{ id: number; name: string }[]> {
    try {
      const tokens = await this.api.ProjectAccessTokens.all(projectId, {
        perPage: 100,
        // GitLab 16.11+ filters by state; older versions ignore it, so
        // `active` is checked below as well.
        ...({ state: 'active' } as object),
      });
      return tokens
        .filter(t => t.active !== false && !t.revoked)
        .map(t => ({ id: t.id, name: t.name }));
    } catch (error) {
      throw this.toBackstageError(
        error,
        `list access tokens of project ${projectId}`,
      );
    }
  }

  async revokeProjectAccessToken(
    projectId: number,
    tokenId: number,
  ): Promise<void> {
    await this.removeOrGone(
      `revoke access token ${tokenId} of project ${projectId}`,
      () => this.api.ProjectAccessTokens.revoke(projectId, tokenId),
    );
  }

  async archiveProject(projectId: number): Promise<void> {
    try {
      await this.api.Projects.archive(projectId);
    } catch (error) {
      throw this.toBackstageError(error, `archive project ${projectId}`);
    }
  }

  async scheduleProjectDeletion(project: {
    id: number;
    pathWithNamespace: string;
  }): Promise<void> {
    try {
      await this.api.Projects.remove(project.id);
    } catch (error) {
      const mapped = this.toBackstageError(
        error,
        `schedule the deletion of project ${project.pathWithNamespace}`,
      );
      if (mapped instanceof NotFoundError) return;
      if (
        mapped instanceof InputError &&
        /already marked for deletion/i.test(mapped.message)
      ) {
        return;
      }
      throw mapped;
    }
  }

  async createProject(opts: {
    groupPath: string;
    name: string;
    description: string;
    topics: string[];
  }): Promise<GitLabProject> {
    const { groupPath, name, description, topics } = opts;
    let namespaceId: number;
    try {
      namespaceId = (await this.api.Groups.show(groupPath)).id;
    } catch (error) {
      throw this.toBackstageError(error, `read group ${groupPath}`);
    }
    try {
      const project = await this.api.Projects.create({
        namespaceId,
        path: name,
        name,
        description,
        topics,
        visibility: 'private',
        defaultBranch: 'main',
        initializeWithReadme: false,
      });
      this.logger?.info(
        `Created GitLab project ${groupPath}/${name} (id ${project.id})`,
      );
      return toGitLabProject(project);
    } catch (error) {
      throw this.toBackstageError(error, `create project ${groupPath}/${name}`);
    }
  }

  async commitFiles(
    projectId: number,
    opts: { branch: string; message: string; files: GitLabFile[] },
  ): Promise<{ sha: string }> {
    const { branch, message, files } = opts;
    const existing = await this.listFiles(projectId, branch);
    // Byte-exact: base64 content stays base64, and the executable bit is
    // set (or cleared) explicitly on every file.
    const actions: CommitAction[] = files.map(file => ({
      action: existing.has(file.path) ? 'update' : 'create',
      filePath: file.path,
      content: file.content,
      encoding: file.encoding === 'base64' ? 'base64' : 'text',
      executeFilemode: file.executable ?? false,
    }));
    try {
      const commit = await this.api.Commits.create(
        projectId,
        branch,
        message,
        actions,
      );
      return { sha: commit.id };
    } catch (error) {
      throw this.toBackstageError(
        error,
        `commit ${files.length} files to branch ${branch} of project ${projectId}`,
      );
    }
  }

  async protectBranch(
    projectId: number,
    branch: string,
    levels: { push?: number; merge?: number } = {},
  ): Promise<void> {
    const push = levels.push ?? AccessLevel.MAINTAINER;
    const merge = levels.merge ?? AccessLevel.MAINTAINER;
    const what = `protect branch ${branch} of project ${projectId}`;
    const protect = () =>
      this.api.ProtectedBranches.create(projectId, branch, {
        pushAccessLevel: push as ProtectedBranchAccessLevel,
        mergeAccessLevel: merge as ProtectedBranchAccessLevel,
        allowForcePush: false,
      });
    try {
      await protect();
      return;
    } catch (error) {
      const mapped = this.toBackstageError(error, what);
      if (!(mapped instanceof ConflictError)) {
        throw mapped;
      }
    }
    // Already protected: keep it if it says what we want, else protect it
    // again (GitLab cannot edit the access levels of a protected branch).
    try {
      const current = (await this.api.ProtectedBranches.show(
        projectId,
        branch,
      )) as unknown as {
        push_access_levels?: Array<{ access_level?: number }>;
        merge_access_levels?: Array<{ access_level?: number }>;
        allow_force_push?: boolean;
      };
      const levelsOf = (list?: Array<{ access_level?: number }>) =>
        JSON.stringify((list ?? []).map(l => l.access_level));
      if (
        levelsOf(current.push_access_levels) === JSON.stringify([push]) &&
        levelsOf(current.merge_access_levels) === JSON.stringify([merge]) &&
        !current.allow_force_push
      ) {
        return;
      }
      await this.api.ProtectedBranches.unprotect(projectId, branch);
      await protect();
      this.logger?.info(
        `Protected branch ${branch} of project ${projectId} again: push ${push}, merge ${merge}, no force push`,
      );
    } catch (error) {
      throw this.toBackstageError(error, what);
    }
  }

  async setVariable(
    projectId: number,
    variable: {
      key: string;
      value: string;
      masked: boolean;
      protected: boolean;
      hidden?: boolean;
    },
  ): Promise<void> {
    const { key, value } = variable;
    const hidden = variable.hidden ?? false;
    if (variable.masked || hidden) {
      assertMaskable(key, value);
    }
    const options = {
      variableType: 'env_var' as const,
      masked: variable.masked || hidden,
      protected: variable.protected,
    };
    const create = () =>
      this.api.ProjectVariables.create(projectId, key, value, {
        ...options,
        // GitLab 17.4+: masked, and never shown again in the UI or the API.
        ...(hidden ? { masked_and_hidden: true } : {}),
      });
    try {
      await create();
      return;
    } catch (error) {
      const mapped = this.toBackstageError(
        error,
        `create CI/CD variable ${key} in project ${projectId}`,
      );
      if (!(mapped instanceof ConflictError)) {
        throw mapped;
      }
    }
    if (hidden) {
      // GitLab cannot make an existing variable hidden (nor change a hidden
      // one's visibility): replace it. A hidden value is a secret the caller
      // has just made, so nothing is lost.
      try {
        await this.api.ProjectVariables.remove(projectId, key, {
          filter: { environment_scope: '*' },
        });
        await create();
        return;
      } catch (error) {
        throw this.toBackstageError(
          error,
          `replace CI/CD variable ${key} in project ${projectId}`,
        );
      }
    }
    try {
      await this.api.ProjectVariables.edit(projectId, key, value, {
        ...options,
        filter: { environment_scope: '*' },
      });
    } catch (error) {
      throw this.toBackstageError(
        error,
        `update CI/CD variable ${key} in project ${projectId}`,
      );
    }
  }

  async createProjectAccessToken(
    projectId: number,
    opts: {
      name: string;
      scopes: string[];
      accessLevel: number;
      expiresAt: string;
    },
  ): Promise<{ id: number; token: string }> {
    try {
      const created = await this.api.ProjectAccessTokens.create(
        projectId,
        opts.name,
        opts.scopes as AccessTokenScopes[],
        opts.expiresAt,
        { accessLevel: opts.accessLevel as AccessTokenSchema['access_level'] },
      );
      return { id: created.id, token: created.token };
    } catch (error) {
      throw this.toBackstageError(
        error,
        `create access token ${opts.name} for project ${projectId}`,
      );
    }
  }

  async deleteProject(project: {
    id: number;
    pathWithNamespace: string;
  }): Promise<void> {
    const { id, pathWithNamespace } = project;
    const what = `delete project ${pathWithNamespace}`;
    try {
      await this.api.Projects.remove(id);
    } catch (error) {
      const mapped = this.toBackstageError(error, what);
      if (mapped instanceof NotFoundError) {
        return;
      }
      // A retried delete finds the project already marked: go on to step 2.
      if (
        !(mapped instanceof InputError) ||
        !/already marked for deletion/i.test(mapped.message)
      ) {
        throw mapped;
      }
    }
    try {
      // GitLab 18 only marks the project for deletion above and keeps its
      // path taken. Removing it for good needs permanently_remove and
      // full_path in the query string. Projects.remove would send its options
      // as a JSON body, so call the SDK's requester (same base URL, token and
      // error handling) directly with searchParams.
      await this.api.requester.delete(`projects/${id}`, {
        searchParams: { permanentlyRemove: true, fullPath: pathWithNamespace },
      });
    } catch (error) {
      const mapped = this.toBackstageError(error, `permanently ${what}`);
      if (!(mapped instanceof NotFoundError)) {
        throw mapped;
      }
    }
    this.logger?.info(`Deleted GitLab project ${pathWithNamespace} for good`);
  }

  async listHooks(projectId: number): Promise<GitLabHook[]> {
    try {
      const hooks = await this.api.ProjectHooks.all(projectId, { perPage: 100, maxPages: 1 });
      return hooks.map(h => toHook(h as unknown as Record<string, unknown>));
    } catch (error) {
      throw this.toBackstageError(error, `list webhooks of project ${projectId}`);
    }
  }

  async addPushHook(
    projectId: number,
    hook: { url: string; branch: string; token?: string; description: string },
  ): Promise<GitLabHook> {
    try {
      const created = await this.api.ProjectHooks.add(projectId, hook.url, {
        pushEvents: true,
        pushEventsBranchFilter: hook.branch,
        tagPushEvents: false,
        mergeRequestsEvents: false,
        enableSslVerification: true,
        ...(hook.token ? { token: hook.token } : {}),
        // GitLab 17.1+ keeps a description; older versions ignore it.
        description: hook.description,
      } as AddResourceHookOptions);
      return toHook(created as unknown as Record<string, unknown>);
    } catch (error) {
      throw this.toBackstageError(error, `add a webhook to project ${projectId}`);
    }
  }

  async deleteHook(projectId: number, hookId: number): Promise<void> {
    await this.removeOrGone(
      `remove webhook ${hookId} of project ${projectId}`,
      () => this.api.ProjectHooks.remove(projectId, hookId),
    );
  }

  /** Paths of all files on `branch`; empty for an empty repository or a missing branch. */
  private async listFiles(
    projectId: number,
    branch: string,
  ): Promise<Set<string>> {
    try {
      const tree = await this.api.Repositories.allRepositoryTrees(projectId, {
        ref: branch,
        recursive: true,
        perPage: TREE_PAGE_SIZE,
      });
      return new Set(
        tree.filter(entry => entry.type === 'blob').map(entry => entry.path),
      );
    } catch (error) {
      const mapped = this.toBackstageError(
        error,
        `list files on branch ${branch} of project ${projectId}`,
      );
      if (mapped instanceof NotFoundError) {
        return new Set();
      }
      throw mapped;
    }
  }

  /** Runs a removal; a 404 counts as done (already removed). */
  private async removeOrGone(what: string, remove: () => Promise<unknown>): Promise<void> {
    try {
      await remove();
    } catch (error) {
      const mapped = this.toBackstageError(error, what);
      if (!(mapped instanceof NotFoundError)) throw mapped;
    }
  }

  /**
   * The one place that maps gitbeaker/HTTP failures to Backstage errors.
   * `what` names the operation and resource ("create project apps/x"). The
   * message never contains the token: it is built from `what`, the host and
   * GitLab's response description only.
   */
  private toBackstageError(error: unknown, what: string): Error {
    // gitbeaker's GitbeakerRequestError carries { description, response }
    // in `cause`; read it structurally so a second copy of gitbeaker works too.
    const cause = (
      error as
        | { cause?: { description?: unknown; response?: { status?: unknown } } }
        | undefined
    )?.cause;
    const status = cause?.response?.status;
    const detail = String(
      cause?.description ?? (error instanceof Error ? error.message : ''),
    );
    const prefix = `GitLab ${this.host}: cannot ${what}`;

    if (status === 404) {
      return new NotFoundError(`${prefix}: not found`, error);
    }
    if (
      status === 409 ||
      (status === 400 && /has already been taken|already exists/i.test(detail))
    ) {
      return new ConflictError(
        `${prefix}: it already exists or its name is taken`,
        error,
      );
    }
    if (status === 401 || status === 403) {
      return new NotAllowedError(
        `${prefix}: permission denied (HTTP ${status}); check the token's role and scopes`,
        error,
      );
    }
    if (status === 400) {
      return new InputError(`${prefix}: rejected as invalid`, error);
    }
    return new ForwardedError(
      status ? `${prefix}: HTTP ${status}` : `${prefix}: request failed`,
      error,
    );
  }
  // Proposing changes (GitLabChangesApi): the upgrade reads main, commits
  // to its own branch and opens or updates one merge request.

  async getBranchHead(
    projectId: number,
    branch: string,
  ): Promise<GitLabCommit | undefined> {
    try {
      const { commit } = await this.api.Branches.show(projectId, branch);
      return toGitLabCommit(commit as unknown as Record<string, unknown>);
    } catch (error) {
      const mapped = this.toBackstageError(
        error,
        `read branch ${branch} of project ${projectId}`,
      );
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  }

  async listTree(projectId: number, ref: string): Promise<GitLabTreeFile[]> {
    try {
      const tree = await this.api.Repositories.allRepositoryTrees(projectId, {
        ref,
        recursive: true,
        perPage: TREE_PAGE_SIZE,
      });
      return tree
        .filter(entry => entry.type === 'blob')
        .map(entry => ({ path: entry.path, blobId: entry.id }));
    } catch (error) {
      throw this.toBackstageError(
        error,
        `list files at ${ref} of project ${projectId}`,
      );
    }
  }

  async readFile(
    projectId: number,
    path: string,
    ref: string,
  ): Promise<string | undefined> {
    try {
      // The JSON form (base64 content) is byte-exact whatever the file's
      // content type; the raw form's body type depends on it.
      const file = await this.api.RepositoryFiles.show(projectId, path, ref);
      return Buffer.from(file.content, 'base64').toString('utf8');
    } catch (error) {
      const mapped = this.toBackstageError(
        error,
        `read ${path} at ${ref} of project ${projectId}`,
      );
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  }

  async lastCommitTouching(
    projectId: number,
    ref: string,
    path: string,
  ): Promise<string | undefined> {
    try {
      const commits = await this.api.Commits.all(projectId, {
        refName: ref,
        path,
        perPage: 1,
        maxPages: 1,
      });
      return commits[0]?.id;
    } catch (error) {
      const mapped = this.toBackstageError(
        error,
        `list commits of ${path} at ${ref} of project ${projectId}`,
      );
      if (mapped instanceof NotFoundError) return undefined;
      throw mapped;
    }
  }

  async commitChanges(
    projectId: number,
    opts: {
      branch: string;
      message: string;
      changes: GitLabCommitChange[];
      startSha?: string;
      force?: boolean;
    },
  ): Promise<{ sha: string }> {
    const { branch, message, changes } = opts;
    const actions: CommitAction[] = changes.map(change =>
      change.action === 'delete'
        ? { action: 'delete', filePath: change.path }
        : {
            action: change.action,
            filePath: change.path,
            content: change.content ?? '',
            encoding: 'text',
          },
    );
    try {
      const commit = await this.api.Commits.create(
        projectId,
        branch,
        message,
        actions,
        {
          ...(opts.startSha ? { startSha: opts.startSha } : {}),
          ...(opts.force ? { force: true } : {}),
        },
      );
      return { sha: commit.id };
    } catch (error) {
      throw this.toBackstageError(
        error,
        `commit ${changes.length} changes to branch ${branch} of project ${projectId}`,
      );
    }
  }

  async findOpenMergeRequest(
    projectId: number,
    opts: { sourceBranch: string; targetBranch: string },
  ): Promise<GitLabMergeRequest | undefined> {
    try {
      const found = await this.api.MergeRequests.all({
        projectId,
        sourceBranch: opts.sourceBranch,
        targetBranch: opts.targetBranch,
        state: 'opened',
        perPage: 20,
        maxPages: 1,
      });
      const first = found[0];
      return first
        ? toGitLabMergeRequest(first as unknown as Record<string, unknown>)
        : undefined;
    } catch (error) {
      throw this.toBackstageError(
        error,
        `list merge requests from ${opts.sourceBranch} of project ${projectId}`,
      );
    }
  }

  async createMergeRequest(
    projectId: number,
    opts: {
      sourceBranch: string;
      targetBranch: string;
      title: string;
      description: string;
      labels?: string[];
      removeSourceBranch?: boolean;
    },
  ): Promise<GitLabMergeRequest> {
    try {
      const created = await this.api.MergeRequests.create(
        projectId,
        opts.sourceBranch,
        opts.targetBranch,
        opts.title,
        {
          description: opts.description,
          ...(opts.labels?.length ? { labels: opts.labels.join(',') } : {}),
          ...(opts.removeSourceBranch !== undefined
            ? { removeSourceBranch: opts.removeSourceBranch }
            : {}),
        },
      );
      this.logger?.info(
        `Opened merge request !${created.iid} in GitLab project ${projectId}`,
      );
      return toGitLabMergeRequest(created as unknown as Record<string, unknown>);
    } catch (error) {
      throw this.toBackstageError(
        error,
        `open a merge request from ${opts.sourceBranch} in project ${projectId}`,
      );
    }
  }

  async updateMergeRequest(
    projectId: number,
    iid: number,
    opts: {
      title?: string;
      description?: string;
      stateEvent?: 'close' | 'reopen';
    },
  ): Promise<GitLabMergeRequest> {
    try {
      const updated = await this.api.MergeRequests.edit(projectId, iid, {
        ...(opts.title !== undefined ? { title: opts.title } : {}),
        ...(opts.description !== undefined
          ? { description: opts.description }
          : {}),
        ...(opts.stateEvent ? { stateEvent: opts.stateEvent } : {}),
      });
      return toGitLabMergeRequest(updated as unknown as Record<string, unknown>);
    } catch (error) {
      throw this.toBackstageError(
        error,
        `update merge request !${iid} of project ${projectId}`,
      );
    }
  }

}

function toGitLabProject(project: ProjectSchema): GitLabProject {
  return {
    id: project.id,
    pathWithNamespace: project.path_with_namespace,
    webUrl: project.web_url,
    httpUrlToRepo: project.http_url_to_repo,
    description: project.description ?? '',
    topics: project.topics ?? [],
    archived: project.archived ?? undefined,
    markedForDeletionOn:
      (project as { marked_for_deletion_on?: string | null })
        .marked_for_deletion_on ?? undefined,
  };
}

/** Throws InputError naming the key (never the value) if GitLab cannot mask the value. */
function assertMaskable(key: string, value: string): void {
  const problem =
    (value.length < MASKABLE_MIN_LENGTH &&
      `must be at least ${MASKABLE_MIN_LENGTH} characters long`) ||
    (/[\r\n]/.test(value) && 'must be a single line') ||
    (!MASKABLE_CHARACTERS.test(value) &&
      'may only contain Base64 characters (RFC 4648) and @ : . ~ - _ + / =');
  if (problem) {
    throw new InputError(
      `CI/CD variable ${key} cannot be masked: its value ${problem}`,
    );
  }
}

function toHook(h: Record<string, unknown>): GitLabHook {
  return {
    id: Number(h.id),
    url: String(h.url ?? ''),
    description: String(h.description ?? ''),
    pushEvents: Boolean(h.push_events ?? h.pushEvents),
    branchFilter: String(h.push_events_branch_filter ?? h.pushEventsBranchFilter ?? ''),
  };
}

function toGitLabCommit(c: Record<string, unknown>): GitLabCommit {
  return {
    sha: String(c.id),
    message: String(c.message ?? c.title ?? ''),
    parentIds: Array.isArray(c.parent_ids) ? c.parent_ids.map(String) : [],
  };
}

function toGitLabMergeRequest(mr: Record<string, unknown>): GitLabMergeRequest {
  return {
    iid: Number(mr.iid),
    title: String(mr.title ?? ''),
    description: String(mr.description ?? ''),
    state: String(mr.state ?? ''),
    sourceBranch: String(mr.source_branch ?? ''),
    targetBranch: String(mr.target_branch ?? ''),
    webUrl: String(mr.web_url ?? ''),
  };
}
