/**
 * An in-memory GitLab (projects, branches, commits with parents, merge
 * requests), Kubernetes namespaces and ArgoCD projects and applications,
 * with the semantics the upgrade relies on: GitLab's commit `force` and
 * `start_sha`, one open merge request per source and target branch, file
 * actions refused like GitLab refuses them.
 *
 * Test-only module: never import it from production code.
 */
import { ConflictError, InputError } from '@backstage/errors';
import {
  EnsureOutcome,
  GitLabCommit,
  GitLabCommitChange,
  GitLabMergeRequest,
  GitLabProject,
  KubernetesObject,
} from '@internal/plugin-golden-path-node';
import { UpgradeClients, gitBlobId } from '../ServiceUpgrader';

interface Commit {
  sha: string;
  message: string;
  parentIds: string[];
  files: Map<string, string>;
}

interface Project extends GitLabProject {
  branches: Map<string, string>;
  mergeRequests: GitLabMergeRequest[];
}

const WRITES = ['commitChanges', 'createMergeRequest', 'updateMergeRequest', 'apply', 'ensureProject', 'ensureApplication'];

export class UpgradeWorld {
  readonly projects = new Map<string, Project>();
  readonly commits = new Map<string, Commit>();
  readonly namespaces = new Map<string, Record<string, string>>();
  readonly applied: KubernetesObject[][] = [];
  readonly argo = { projects: new Map<string, any>(), applications: new Map<string, any>() };
  /** Every call, by method name. */
  readonly calls: string[] = [];
  /** Methods that throw, for fault tests. */
  readonly failing = new Map<string, Error>();
  private seq = 0;

  /** Writes made so far (method names). */
  get writes(): string[] {
    return this.calls.filter(c => WRITES.includes(c));
  }

  private call(name: string) {
    this.calls.push(name);
    const error = this.failing.get(name);
    if (error) throw error;
  }

  private byId(id: number): Project {
    const p = [...this.projects.values()].find(x => x.id === id);
    if (!p) throw new Error(`no project ${id}`);
    return p;
  }

  private newCommit(message: string, parentIds: string[], files: Map<string, string>): string {
    const sha = (++this.seq).toString(16).padStart(40, '0');
    this.commits.set(sha, { sha, message, parentIds, files });
    return sha;
  }

  /** A project whose main holds `files` in one commit. */
  addProject(path: string, topics: string[], files: Array<{ path: string; content: string }>): Project {
    const project: Project = {
      id: this.projects.size + 1,
      pathWithNamespace: path,
      webUrl: `https://gitlab.test/${path}`,
      httpUrlToRepo: `https://gitlab.test/${path}.git`,
      description: '',
      topics,
      branches: new Map(),
      mergeRequests: [],
    };
    project.branches.set('main', this.newCommit('Initial', [], new Map(files.map(f => [f.path, f.content]))));
    this.projects.set(path, project);
    return project;
  }

  /** A commit by a person on `branch` (a hand edit, or a CI release). */
  editByHand(path: string, edits: Record<string, string | undefined>, branch = 'main'): string {
    const project = this.projects.get(path)!;
    const head = this.commits.get(project.branches.get(branch)!)!;
    const files = new Map(head.files);
    for (const [file, content] of Object.entries(edits)) {
      if (content === undefined) files.delete(file);
      else files.set(file, content);
    }
    const sha = this.newCommit('Edited by hand', [head.sha], files);
    project.branches.set(branch, sha);
    return sha;
  }

  /** The files at the head of `branch`. */
  filesOf(path: string, branch = 'main'): Map<string, string> {
    const project = this.projects.get(path)!;
    return this.commits.get(project.branches.get(branch)!)!.files;
  }

  readonly gitlab: UpgradeClients['gitlab'] = {
    findProject: async fullPath => {
      this.call('findProject');
      return this.projects.get(fullPath);
    },
    getBranchHead: async (projectId, branch): Promise<GitLabCommit | undefined> => {
      this.call('getBranchHead');
      const sha = this.byId(projectId).branches.get(branch);
      if (!sha) return undefined;
      const { message, parentIds } = this.commits.get(sha)!;
      return { sha, message, parentIds };
    },
    listTree: async (_projectId, ref) => {
      this.call('listTree');
      return [...this.commits.get(ref)!.files].map(([path, content]) => ({ path, blobId: gitBlobId(content) }));
    },
    readFile: async (_projectId, path, ref) => {
      this.call('readFile');
      return this.commits.get(ref)?.files.get(path);
    },
    lastCommitTouching: async (_projectId, ref, path) => {
      this.call('lastCommitTouching');
      for (let sha: string | undefined = ref; sha; ) {
        const commit: Commit = this.commits.get(sha)!;
        const parent = commit.parentIds[0] ? this.commits.get(commit.parentIds[0]) : undefined;
        if (commit.files.get(path) !== parent?.files.get(path)) return sha;
        sha = parent?.sha;
      }
      return undefined;
    },
    commitChanges: async (projectId, opts) => {
      this.call('commitChanges');
      const project = this.byId(projectId);
      const head = project.branches.get(opts.branch);
      const parent = (opts.force || !head) && opts.startSha ? opts.startSha : head;
      if (!parent) throw new InputError('You can only create or edit files when you are on a branch');
      const files = new Map(this.commits.get(parent)!.files);
      for (const change of opts.changes as GitLabCommitChange[]) {
        const exists = files.has(change.path);
        if (change.action === 'create' && exists) throw new InputError(`A file with this name already exists: ${change.path}`);
        if (change.action !== 'create' && !exists) throw new InputError(`A file with this name doesn't exist: ${change.path}`);
        if (change.action === 'delete') files.delete(change.path);
        else files.set(change.path, change.content ?? '');
      }
      const sha = this.newCommit(opts.message, [parent], files);
      project.branches.set(opts.branch, sha);
      return { sha };
    },
    findOpenMergeRequest: async (projectId, opts) => {
      this.call('findOpenMergeRequest');
      return this.byId(projectId).mergeRequests.find(
        m => m.state === 'opened' && m.sourceBranch === opts.sourceBranch && m.targetBranch === opts.targetBranch,
      );
    },
    createMergeRequest: async (projectId, opts) => {
      this.call('createMergeRequest');
      const project = this.byId(projectId);
      if (project.mergeRequests.some(m => m.state === 'opened' && m.sourceBranch === opts.sourceBranch)) {
        throw new ConflictError('Another open merge request already exists for this source branch');
      }
      const mr: GitLabMergeRequest = {
        iid: project.mergeRequests.length + 1,
        title: opts.title,
        description: opts.description,
        state: 'opened',
        sourceBranch: opts.sourceBranch,
        targetBranch: opts.targetBranch,
        webUrl: `${project.webUrl}/-/merge_requests/${project.mergeRequests.length + 1}`,
      };
      project.mergeRequests.push(mr);
      return { ...mr };
    },
    updateMergeRequest: async (projectId, iid, opts) => {
      this.call('updateMergeRequest');
      const mr = this.byId(projectId).mergeRequests.find(m => m.iid === iid)!;
      if (opts.title !== undefined) mr.title = opts.title;
      if (opts.description !== undefined) mr.description = opts.description;
      if (opts.stateEvent === 'close') mr.state = 'closed';
      return { ...mr };
    },
  };

  readonly kubernetes: UpgradeClients['kubernetes'] = {
    namespaceLabels: async name => {
      this.call('namespaceLabels');
      return this.namespaces.get(name);
    },
    apply: async objects => {
      this.call('apply');
      this.applied.push(objects);
      for (const o of objects) {
        if (o.kind === 'Namespace') this.namespaces.set(o.metadata.name, { ...o.metadata.labels });
      }
    },
  };

  private ensure(map: Map<string, any>, object: Record<string, any>, update?: boolean): EnsureOutcome {
    const current = map.get(object.metadata.name);
    if (!current) {
      map.set(object.metadata.name, object);
      return 'created';
    }
    if (JSON.stringify(current.spec) === JSON.stringify(object.spec)) return 'unchanged';
    if (!update) throw new ConflictError(`${object.metadata.name} differs`);
    map.set(object.metadata.name, object);
    return 'updated';
  }

  readonly argocd: UpgradeClients['argocd'] = {
    getProject: async name => {
      this.call('getProject');
      return this.argo.projects.get(name);
    },
    ensureProject: async (project, opts) => {
      this.call('ensureProject');
      return this.ensure(this.argo.projects, project, opts?.update);
    },
    getApplication: async name => {
      this.call('getApplication');
      return this.argo.applications.get(name);
    },
    ensureApplication: async (app, opts) => {
      this.call('ensureApplication');
      return this.ensure(this.argo.applications, app, opts?.update);
    },
  };

  get clients(): UpgradeClients {
    return { gitlab: this.gitlab, kubernetes: this.kubernetes, argocd: this.argocd };
  }
}
