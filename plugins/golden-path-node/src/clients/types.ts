/**
 * The ports the actions and the saga depend on, one per external system.
 * Each is implemented by one class in this folder (built from config by its
 * `static fromConfig`) and faked in tests. Every method that creates is an
 * "ensure" or fails with ConflictError; every delete is idempotent (a missing
 * resource counts as deleted). Errors are Backstage errors (NotFoundError,
 * ConflictError, NotAllowedError, InputError, ForwardedError with the cause).
 */

/** A GitLab project as the actions need it. */
export interface GitLabProject {
  id: number;
  /** e.g. `apps/payments-api` */
  pathWithNamespace: string;
  webUrl: string;
  httpUrlToRepo: string;
  description: string;
  topics: string[];
  /** Archived (read-only). Undefined when the source does not say. */
  archived?: boolean;
  /** The day GitLab's delayed deletion was scheduled (YYYY-MM-DD), if it was. */
  markedForDeletionOn?: string | null;
}

/** A CI/CD variable of a project, without its value. */
export interface GitLabVariableRef {
  key: string;
  /** `*` unless the variable is limited to an environment. */
  environmentScope: string;
}

/** A file to commit, byte-exact (text or base64) with its executable bit. */
export interface GitLabFile {
  path: string;
  content: string;
  /** Default text. */
  encoding?: 'text' | 'base64';
  /** Default false. */
  executable?: boolean;
}

export interface GitLabApi {
  /** The project at `fullPath`, or undefined. */
  findProject(fullPath: string): Promise<GitLabProject | undefined>;
  /**
   * Retiring a project (decommission): its CI/CD variables (keys only, never
   * values), every page.
   */
  listVariables(projectId: number): Promise<GitLabVariableRef[]>;
  /** Removes one CI/CD variable (of its environment scope). 404 = done. */
  deleteVariable(projectId: number, variable: GitLabVariableRef): Promise<void>;
  /** The project's active access tokens: ids and names, never values. */
  listActiveProjectAccessTokens(
    projectId: number,
  ): Promise<{ id: number; name: string }[]>;
  /** Revokes a project access token. 404 (gone or already revoked) = done. */
  revokeProjectAccessToken(projectId: number, tokenId: number): Promise<void>;
  /** Archives the project: read-only, kept with its history. Idempotent. */
  archiveProject(projectId: number): Promise<void>;
  /**
   * Schedules GitLab's delayed deletion (DELETE without permanently_remove):
   * GitLab removes the project after the instance's retention period and it
   * can be restored until then. Already scheduled = done; 404 = done.
   */
  scheduleProjectDeletion(project: {
    id: number;
    pathWithNamespace: string;
  }): Promise<void>;
  /**
   * Creates a private project `<groupPath>/<name>` with default branch main.
   * ConflictError when the path is taken (including by a project pending deletion).
   */
  createProject(opts: {
    groupPath: string;
    name: string;
    description: string;
    topics: string[];
  }): Promise<GitLabProject>;
  /** Pushes all files to `branch` in ONE commit (create or update per file). */
  commitFiles(
    projectId: number,
    opts: { branch: string; message: string; files: GitLabFile[] },
  ): Promise<{ sha: string }>;
  /**
   * Protects the branch: nobody force-pushes, and only the given roles
   * (default Maintainer, 40) push and merge. Idempotent; a branch protected
   * with other levels is protected again with these.
   */
  protectBranch(
    projectId: number,
    branch: string,
    levels?: { push?: number; merge?: number },
  ): Promise<void>;
  /**
   * Creates or updates a project CI/CD variable. Masked values must meet
   * GitLab's masking rules (InputError naming the key otherwise). A hidden
   * variable (masked too) is never shown again, not even to maintainers;
   * GitLab cannot hide an existing variable, so it is replaced.
   */
  setVariable(
    projectId: number,
    variable: {
      key: string;
      value: string;
      masked: boolean;
      protected: boolean;
      hidden?: boolean;
    },
  ): Promise<void>;
  /** Creates a project access token; the token value is returned once. */
  createProjectAccessToken(
    projectId: number,
    opts: {
      name: string;
      scopes: string[];
      accessLevel: number;
      expiresAt: string;
    },
  ): Promise<{ id: number; token: string }>;
  /**
   * Deletes the project for good: DELETE, then (GitLab 18 defers deletion)
   * DELETE again with permanently_remove=true&full_path=<path>. 404 = done.
   */
  deleteProject(project: {
    id: number;
    pathWithNamespace: string;
  }): Promise<void>;
  /** The project's webhooks (the newest 100). */
  listHooks(projectId: number): Promise<GitLabHook[]>;
  /** Adds a push-events webhook for one branch; `token` is sent as X-Gitlab-Token. */
  addPushHook(
    projectId: number,
    hook: { url: string; branch: string; token?: string; description: string },
  ): Promise<GitLabHook>;
  /** Removes a webhook; 404 = done. */
  deleteHook(projectId: number, hookId: number): Promise<void>;
}

/** A project webhook, as much of it as the golden path reads. */
export interface GitLabHook {
  id: number;
  url: string;
  description: string;
  pushEvents: boolean;
  branchFilter: string;
}

export interface EcrRepository {
  name: string;
  arn: string;
  uri: string;
  tags: Record<string, string>;
}

export interface IamPolicy {
  name: string;
  arn: string;
  tags: Record<string, string>;
}

/** An IAM role as the golden path reads it. */
export interface IamRole {
  name: string;
  arn: string;
  tags: Record<string, string>;
  permissionsBoundaryArn?: string;
  /** The trust policy, parsed. */
  trustPolicy: object;
}

export interface AwsRegistryApi {
  findRepository(name: string): Promise<EcrRepository | undefined>;
  /** Immutable tags, scan on push, encryption, lifecycle policy (last 30 images), tags. ConflictError if it exists. */
  createRepository(
    name: string,
    tags: Record<string, string>,
  ): Promise<EcrRepository>;
  /** Force-deletes the repository and its images. Missing = done. */
  deleteRepository(name: string): Promise<void>;
  findPolicy(policyName: string): Promise<IamPolicy | undefined>;
  /** ConflictError if a policy with that name exists. */
  createPolicy(
    policyName: string,
    document: object,
    tags: Record<string, string>,
  ): Promise<IamPolicy>;
  /** Detaches it everywhere, deletes non-default versions, deletes it. Missing = done. */
  deletePolicy(policyArn: string): Promise<void>;
  /**
   * The policy if one of that name exists (whoever made it), else a new one
   * with `document`. For platform-wide policies such as the permissions
   * boundary: never deleted by a service's rollback.
   */
  ensurePolicy(
    policyName: string,
    document: object,
    tags: Record<string, string>,
  ): Promise<IamPolicy>;
  findRole(roleName: string): Promise<IamRole | undefined>;
  /**
   * Creates a role with its trust policy and permissions boundary and
   * attaches the managed policies; on failure removes what it made.
   * ConflictError if the role exists.
   */
  createRole(
    roleName: string,
    opts: {
      trustPolicy: object;
      boundaryArn: string;
      policyArns: string[];
      tags: Record<string, string>;
      description: string;
    },
  ): Promise<IamRole>;
  /** Detaches its managed policies and deletes the role. Missing = done. */
  deleteRole(roleName: string): Promise<void>;
  /**
   * Creates an IAM user with the policy attached, the permissions boundary
   * (when given) and one access key. ConflictError if the user exists.
   */
  createCiUser(
    userName: string,
    policyArn: string,
    tags: Record<string, string>,
    boundaryArn?: string,
  ): Promise<{
    userName: string;
    accessKeyId: string;
    secretAccessKey: string;
  }>;
  /** Deletes access keys, detaches policies, deletes the user. Missing = done. */
  deleteCiUser(userName: string): Promise<void>;
  /** Whether the user exists. */
  userExists(userName: string): Promise<boolean>;
  /** The user and its tags, or undefined. */
  findCiUser(
    userName: string,
  ): Promise<{ userName: string; tags: Record<string, string> } | undefined>;
}

/** Outcome of an ensure against ArgoCD. */
export type EnsureOutcome = 'created' | 'unchanged' | 'updated';

export interface ArgoCdApi {
  /** The AppProject (ArgoCD JSON), or undefined. */
  getProject(name: string): Promise<Record<string, any> | undefined>;
  /**
   * Creates; identical spec = unchanged; different = ConflictError unless
   * `update`. `current`: what the caller has just read (undefined = absent),
   * so the client does not read it again.
   */
  ensureProject(
    project: Record<string, any>,
    opts?: { update?: boolean; current?: Record<string, any> | undefined },
  ): Promise<EnsureOutcome>;
  /** 404 = done. */
  deleteProject(name: string): Promise<void>;
  getApplication(name: string): Promise<Record<string, any> | undefined>;
  /** Same rules as ensureProject; source repoURL normalised to end in .git. */
  ensureApplication(
    app: Record<string, any>,
    opts?: { update?: boolean; current?: Record<string, any> | undefined },
  ): Promise<EnsureOutcome>;
  /** Cascading delete; 404 = done. */
  deleteApplication(name: string): Promise<void>;
}

/**
 * A Kubernetes object: what the render layer produces and the Kubernetes
 * client applies (apiVersion, kind, metadata and any other fields).
 */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubernetesApi {
  /** Server-side apply of every object with our field manager: Namespaces first, then the rest. */
  apply(objects: KubernetesObject[]): Promise<void>;
  /**
   * Creates (POST) a Namespace; ConflictError when one of that name exists,
   * so an existing namespace is never adopted by accident.
   */
  createNamespace(namespace: KubernetesObject): Promise<void>;
  /** Deletes the objects, namespaced ones before Namespaces; 404 = done. */
  delete(objects: KubernetesObject[]): Promise<void>;
  namespaceExists(name: string): Promise<boolean>;
  /** Labels of the namespace, or undefined when it does not exist. */
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  /** Every Ingress, in any namespace, whose rules or TLS claim `host`. */
  findIngressesClaimingHost(
    host: string,
  ): Promise<Array<{ namespace: string; name: string }>>;
}

/** A commit as the upgrade reads it. */
export interface GitLabCommit {
  sha: string;
  message: string;
  parentIds: string[];
}

/** A file on a branch: its path and git blob id. */
export interface GitLabTreeFile {
  path: string;
  blobId: string;
}

/** One change of a commit (text files). */
export interface GitLabCommitChange {
  action: 'create' | 'update' | 'delete';
  path: string;
  /** Required for create and update. */
  content?: string;
}

/** A merge request as the upgrade and the entity page read it. */
export interface GitLabMergeRequest {
  iid: number;
  title: string;
  description: string;
  /** `opened`, `closed`, `locked` or `merged`. */
  state: string;
  sourceBranch: string;
  targetBranch: string;
  webUrl: string;
}

/**
 * What proposing a change needs from GitLab: read a branch, commit to
 * another one, and open or update one merge request. Implemented by
 * GitLabClient next to {@link GitLabApi}.
 */
export interface GitLabChangesApi {
  /** The branch's head commit, or undefined when the branch (or project) does not exist. */
  getBranchHead(projectId: number, branch: string): Promise<GitLabCommit | undefined>;
  /** Every file (blob) at `ref` with its blob id, recursively. */
  listTree(projectId: number, ref: string): Promise<GitLabTreeFile[]>;
  /** A text file's content at `ref`, or undefined when there is no such file. */
  readFile(projectId: number, path: string, ref: string): Promise<string | undefined>;
  /** The newest commit reachable from `ref` that changed `path`, or undefined. */
  lastCommitTouching(projectId: number, ref: string, path: string): Promise<string | undefined>;
  /**
   * One commit on `branch`. With `startSha` and `force`, the branch is
   * created or replaced by a single commit on top of `startSha` (GitLab's
   * `force` option); otherwise the commit goes on top of the branch.
   */
  commitChanges(
    projectId: number,
    opts: {
      branch: string;
      message: string;
      changes: GitLabCommitChange[];
      startSha?: string;
      force?: boolean;
    },
  ): Promise<{ sha: string }>;
  /** The open merge request from `sourceBranch` into `targetBranch`, if any (GitLab allows one). */
  findOpenMergeRequest(
    projectId: number,
    opts: { sourceBranch: string; targetBranch: string },
  ): Promise<GitLabMergeRequest | undefined>;
  createMergeRequest(
    projectId: number,
    opts: {
      sourceBranch: string;
      targetBranch: string;
      title: string;
      description: string;
      labels?: string[];
      removeSourceBranch?: boolean;
    },
  ): Promise<GitLabMergeRequest>;
  updateMergeRequest(
    projectId: number,
    iid: number,
    opts: { title?: string; description?: string; stateEvent?: 'close' | 'reopen' },
  ): Promise<GitLabMergeRequest>;
}
