import { createHash } from 'node:crypto';
import path from 'node:path';
import { Collection, Store } from '../store';

/**
 * What the GitLab fake keeps in `<dataDir>/gitlab.db` (SQLite, one row per
 * group, project, token, hook, pipeline and merge request). Field names
 * follow GitLab's API (snake_case). URLs are not stored: they are derived
 * from the sandbox's current base URL when answering, so a restart on
 * another port still answers with working links. Repository content lives
 * in real bare repositories under `<dataDir>/git`, not here.
 */
export interface StoredGroup {
  id: number;
  name: string;
  path: string;
  full_path: string;
  parent_id: number | null;
  description: string;
  visibility: string;
  created_at: string;
}

export interface StoredVariable {
  key: string;
  value: string;
  variable_type: 'env_var' | 'file';
  masked: boolean;
  /** `masked_and_hidden` (GitLab 17.4+): the value is never shown again. */
  hidden?: boolean;
  protected: boolean;
  raw: boolean;
  environment_scope: string;
  description: string | null;
}

export interface StoredProtectedBranch {
  id: number;
  name: string;
  push_access_level: number;
  merge_access_level: number;
  unprotect_access_level: number;
  allow_force_push: boolean;
  code_owner_approval_required: boolean;
}

/** A project access token or a deploy token. */
export interface StoredAccessToken {
  id: number;
  project_id: number;
  name: string;
  description: string | null;
  scopes: string[];
  access_level: number;
  expires_at: string | null;
  created_at: string;
  revoked: boolean;
  /** sha256 of the token; the token itself is returned once and never stored. */
  token_sha256: string;
  /** Deploy tokens only: the user name git authenticates with. */
  username?: string;
}

export interface StoredProject {
  id: number;
  name: string;
  path: string;
  path_with_namespace: string;
  namespace: { id: number; full_path: string };
  description: string;
  topics: string[];
  default_branch: string;
  visibility: string;
  created_at: string;
  last_activity_at?: string;
  archived?: boolean;
  /** `YYYY-MM-DD` once a first DELETE marked the project; null otherwise. */
  marked_for_deletion_on: string | null;
  variables: StoredVariable[];
  protected_branches: StoredProtectedBranch[];
}

/** A CI job of a {@link StoredPipeline}: the sandbox runs one per stage. */
export interface StoredJob {
  id: number;
  name: string;
  stage: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * A pipeline, recorded when a push lands on the default branch of a
 * project with a `.gitlab-ci.yml`. Nothing runs: it succeeds at once.
 */
export interface StoredPipeline {
  id: number;
  project_id: number;
  /** Number of the pipeline within its project, from 1. */
  iid: number;
  status: string;
  source: string;
  ref: string;
  sha: string;
  before_sha: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Why `.gitlab-ci.yml` could not be read (the pipeline then failed); null otherwise. */
  yaml_errors: string | null;
  /** In stage order. */
  jobs: StoredJob[];
}

export interface StoredHook {
  id: number;
  project_id: number;
  url: string;
  name: string;
  description: string;
  push_events: boolean;
  push_events_branch_filter: string;
  merge_requests_events: boolean;
  tag_push_events: boolean;
  enable_ssl_verification: boolean;
  /** Sent as X-Gitlab-Token; never returned by the API. */
  token: string | null;
  created_at: string;
}

export interface StoredMergeRequest {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  description: string;
  state: 'opened' | 'closed' | 'merged' | 'locked';
  source_branch: string;
  target_branch: string;
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
  merge_commit_sha: string | null;
  should_remove_source_branch: boolean | null;
  squash: boolean;
}

/** Groups every fresh sandbox starts with. */
export const SEEDED_GROUPS = ['apps', 'platform', 'platform/gitops'] as const;

/** The fake's persistent state, with the look-ups the API needs. */
export class GitLabState {
  readonly store: Store;
  readonly groups: Collection<StoredGroup>;
  readonly projects: Collection<StoredProject>;
  readonly pipelines: Collection<StoredPipeline>;
  readonly accessTokens: Collection<StoredAccessToken>;
  readonly deployTokens: Collection<StoredAccessToken>;
  readonly hooks: Collection<StoredHook>;
  readonly mergeRequests: Collection<StoredMergeRequest>;

  constructor(dataDir: string) {
    this.store = new Store(path.join(dataDir, 'gitlab.db'));
    this.groups = this.store.collection('group', g => ({ id: g.id, parent: g.parent_id, name: g.full_path.toLowerCase() }));
    this.projects = this.store.collection('project', p => ({
      id: p.id,
      parent: p.namespace.id,
      name: p.path_with_namespace.toLowerCase(),
    }));
    this.pipelines = this.store.collection('pipeline', p => ({ id: p.id, parent: p.project_id }));
    this.accessTokens = this.store.collection('access_token', t => ({ id: t.id, parent: t.project_id, name: t.token_sha256 }));
    this.deployTokens = this.store.collection('deploy_token', t => ({ id: t.id, parent: t.project_id, name: t.token_sha256 }));
    this.hooks = this.store.collection('hook', h => ({ id: h.id, parent: h.project_id }));
    this.mergeRequests = this.store.collection('merge_request', m => ({
      id: m.id,
      parent: m.project_id,
      name: `${m.project_id}!${m.iid}`,
    }));
    if (this.groups.count() === 0) this.#seedGroups(new Date().toISOString());
  }

  #seedGroups(now: string) {
    this.store.transaction(() => {
      for (const fullPath of SEEDED_GROUPS) {
        const parentPath = fullPath.includes('/') ? fullPath.slice(0, fullPath.lastIndexOf('/')) : undefined;
        const name = fullPath.split('/').pop()!;
        this.groups.put({
          id: this.nextId('group'),
          name,
          path: name,
          full_path: fullPath,
          parent_id: parentPath ? this.group(parentPath)?.id ?? null : null,
          description: '',
          visibility: 'private',
          created_at: now,
        });
      }
    });
  }

  /** The next id of `kind` (`project`, `pipeline`, …), or of a per-project sequence. */
  nextId(kind: string): number {
    return this.store.next(kind);
  }

  /** A group by numeric id or full path (case-insensitive, like GitLab). */
  group(idOrPath: string | number): StoredGroup | undefined {
    const key = String(idOrPath);
    if (/^\d+$/.test(key)) return this.groups.get(key);
    return this.groups.byName(key.toLowerCase());
  }

  /** A project (also one marked for deletion) by numeric id or full path. */
  project(idOrPath: string | number): StoredProject | undefined {
    const key = String(idOrPath);
    if (/^\d+$/.test(key)) return this.projects.get(key);
    return this.projects.byName(key.replace(/\.git$/, '').toLowerCase());
  }

  /** True when a group or a project (even one pending deletion) holds `fullPath`. */
  pathTaken(fullPath: string): boolean {
    const lower = fullPath.toLowerCase();
    return Boolean(this.groups.byName(lower) || this.projects.byName(lower));
  }

  /** Ids of `group` and (with `subgroups`) every group below it. */
  groupIds(group: StoredGroup, subgroups: boolean): number[] {
    const ids = [group.id];
    if (!subgroups) return ids;
    for (let i = 0; i < ids.length; i++) {
      ids.push(...this.groups.list({ parent: ids[i] }).map(g => g.id));
    }
    return ids;
  }

  /** Deletes a project's row and everything filed under it. */
  deleteProject(id: number): void {
    this.store.transaction(() => {
      this.projects.delete(id);
      for (const c of [this.pipelines, this.accessTokens, this.deployTokens, this.hooks, this.mergeRequests]) {
        c.deleteByParent(id);
      }
    });
  }

  close(): void {
    this.store.close();
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
