import { createHash } from 'node:crypto';
import path from 'node:path';
import { JsonStore } from '../state';

/**
 * What the GitLab fake keeps in `<dataDir>/gitlab.json`. Field names follow
 * GitLab's API (snake_case). URLs are not stored: they are derived from the
 * sandbox's current base URL when answering, so a restart on another port
 * still answers with working links. Repository content lives in real bare
 * repositories under `<dataDir>/git`, not here.
 */
export interface GitLabData {
  next_ids: {
    group: number;
    project: number;
    protected_branch: number;
    access_token: number;
    /** Pipeline and job ids are global, like GitLab's (absent in older state files). */
    pipeline?: number;
    job?: number;
  };
  groups: StoredGroup[];
  projects: StoredProject[];
}

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

export interface StoredAccessToken {
  id: number;
  name: string;
  description: string | null;
  scopes: string[];
  access_level: number;
  expires_at: string | null;
  created_at: string;
  revoked: boolean;
  /** sha256 of the token; the token itself is returned once and never stored. */
  token_sha256: string;
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
  /** `YYYY-MM-DD` once a first DELETE marked the project; null otherwise. */
  marked_for_deletion_on: string | null;
  variables: StoredVariable[];
  protected_branches: StoredProtectedBranch[];
  access_tokens: StoredAccessToken[];
  /** Oldest first; absent in state files written before pipelines existed. */
  pipelines?: StoredPipeline[];
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
 * A pipeline, recorded when a commit through the API lands on the default
 * branch of a project with a `.gitlab-ci.yml`. Nothing runs: it succeeds at once.
 */
export interface StoredPipeline {
  id: number;
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

/** Groups every fresh sandbox starts with. */
export const SEEDED_GROUPS = ['apps', 'platform', 'platform/gitops'] as const;

function initialData(now: string): GitLabData {
  const groups: StoredGroup[] = [];
  for (const fullPath of SEEDED_GROUPS) {
    const parentPath = fullPath.includes('/')
      ? fullPath.slice(0, fullPath.lastIndexOf('/'))
      : undefined;
    const name = fullPath.split('/').pop()!;
    groups.push({
      id: groups.length + 1,
      name,
      path: name,
      full_path: fullPath,
      parent_id: groups.find(g => g.full_path === parentPath)?.id ?? null,
      description: '',
      visibility: 'private',
      created_at: now,
    });
  }
  return {
    next_ids: {
      group: groups.length + 1,
      project: 1,
      protected_branch: 1,
      access_token: 1,
      pipeline: 1,
      job: 1,
    },
    groups,
    projects: [],
  };
}

/** The fake's persistent state, with the look-ups the API needs. */
export class GitLabState {
  private readonly store: JsonStore<GitLabData>;

  constructor(dataDir: string) {
    this.store = new JsonStore<GitLabData>(
      path.join(dataDir, 'gitlab.json'),
      initialData(new Date().toISOString()),
    );
  }

  get data(): GitLabData {
    return this.store.data;
  }

  save(): void {
    this.store.save();
  }

  nextId(kind: keyof GitLabData['next_ids']): number {
    const id = this.data.next_ids[kind] ?? 1;
    this.data.next_ids[kind] = id + 1;
    return id;
  }

  /** A group by numeric id or full path (case-insensitive, like GitLab). */
  group(idOrPath: string | number): StoredGroup | undefined {
    const key = String(idOrPath);
    if (/^\d+$/.test(key)) {
      return this.data.groups.find(g => g.id === Number(key));
    }
    const lower = key.toLowerCase();
    return this.data.groups.find(g => g.full_path.toLowerCase() === lower);
  }

  /** A project (also one marked for deletion) by numeric id or full path. */
  project(idOrPath: string | number): StoredProject | undefined {
    const key = String(idOrPath);
    if (/^\d+$/.test(key)) {
      return this.data.projects.find(p => p.id === Number(key));
    }
    const lower = key.replace(/\.git$/, '').toLowerCase();
    return this.data.projects.find(
      p => p.path_with_namespace.toLowerCase() === lower,
    );
  }

  /** True when a group or a project (even one pending deletion) holds `fullPath`. */
  pathTaken(fullPath: string): boolean {
    const lower = fullPath.toLowerCase();
    return (
      this.data.groups.some(g => g.full_path.toLowerCase() === lower) ||
      this.data.projects.some(p => p.path_with_namespace.toLowerCase() === lower)
    );
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
