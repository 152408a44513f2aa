import { parse as parseYaml } from 'yaml';
import { CommitInfo } from './repo';
import { GitLabState, StoredJob, StoredPipeline, StoredProject } from './state';

/** Where GitLab looks for a project's CI configuration. */
export const CI_CONFIG_PATH = '.gitlab-ci.yml';

/** GitLab's stages when `.gitlab-ci.yml` lists none. */
export const DEFAULT_STAGES = ['build', 'test', 'deploy'] as const;

/** Stages GitLab adds around every pipeline; never listed by the sandbox. */
const IMPLICIT_STAGES = new Set(['.pre', '.post']);

/**
 * The `stages:` of a `.gitlab-ci.yml`, in order and without duplicates, or
 * the reason GitLab would reject the file. The sandbox runs nothing else of it.
 */
export function stagesOf(content: string): { stages: string[] } | { error: string } {
  let doc: unknown;
  try {
    doc = parseYaml(content);
  } catch (error) {
    return { error: `Invalid configuration format: ${(error as Error).message.split('\n')[0]}` };
  }
  if (doc === null || doc === undefined) {
    return { stages: [...DEFAULT_STAGES] };
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    return { error: 'Invalid configuration format' };
  }
  const stages = (doc as Record<string, unknown>).stages;
  if (stages === undefined || stages === null) {
    return { stages: [...DEFAULT_STAGES] };
  }
  if (!Array.isArray(stages) || stages.some(s => typeof s !== 'string' || s === '')) {
    return { error: 'stages config should be an array of strings' };
  }
  const unique = [...new Set(stages as string[])].filter(s => !IMPLICIT_STAGES.has(s));
  return { stages: unique.length ? unique : [...DEFAULT_STAGES] };
}

/**
 * Records the pipeline GitLab would run for a push of `sha` to `ref`: one
 * job per stage of `ciConfig`, all successful at once (the sandbox has no
 * runners). A `.gitlab-ci.yml` GitLab would reject gives a failed pipeline
 * without jobs and with `yaml_errors`, as on GitLab.
 */
export function recordPipeline(
  state: GitLabState,
  project: StoredProject,
  push: { ref: string; sha: string; beforeSha?: string; ciConfig: string },
): StoredPipeline {
  const now = new Date().toISOString();
  const parsed = stagesOf(push.ciConfig);
  return state.store.transaction(() => {
    const pipeline: StoredPipeline = {
      id: state.nextId('pipeline'),
      project_id: project.id,
      iid: state.nextId(`pipeline_iid:${project.id}`),
      status: 'stages' in parsed ? 'success' : 'failed',
      source: 'push',
      ref: push.ref,
      sha: push.sha,
      before_sha: push.beforeSha ?? '0'.repeat(40),
      created_at: now,
      updated_at: now,
      started_at: 'stages' in parsed ? now : null,
      finished_at: now,
      yaml_errors: 'error' in parsed ? parsed.error : null,
      jobs: [],
    };
    if ('stages' in parsed) {
      pipeline.jobs = parsed.stages.map(
        (stage): StoredJob => ({
          id: state.nextId('job'),
          name: stage,
          stage,
          status: 'success',
          created_at: now,
          started_at: now,
          finished_at: now,
        }),
      );
    }
    return state.pipelines.put(pipeline);
  });
}

const seconds = (from: string | null, to: string | null) =>
  from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : null;

/** JSON shapes of pipelines and jobs, as GitLab's API answers them. */
export function pipelineJsonShapes(baseUrl: string) {
  const projectUrl = (p: StoredProject) => `${baseUrl}/${p.path_with_namespace}`;

  /** A pipeline as listed by `GET /projects/:id/pipelines`. */
  const basic = (p: StoredProject, pl: StoredPipeline) => ({
    id: pl.id,
    iid: pl.iid,
    project_id: p.id,
    sha: pl.sha,
    ref: pl.ref,
    status: pl.status,
    source: pl.source,
    created_at: pl.created_at,
    updated_at: pl.updated_at,
    web_url: `${projectUrl(p)}/-/pipelines/${pl.id}`,
    name: null,
  });

  const user = {
    id: 1,
    username: 'sandbox',
    name: 'Sandbox',
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${baseUrl}/sandbox`,
  };

  const detailedStatus = (p: StoredProject, pl: StoredPipeline) => ({
    icon: `status_${pl.status}`,
    text: pl.status === 'success' ? 'Passed' : pl.status.charAt(0).toUpperCase() + pl.status.slice(1),
    label: pl.status === 'success' ? 'passed' : pl.status,
    group: pl.status,
    tooltip: pl.status === 'success' ? 'passed' : pl.status,
    has_details: true,
    details_path: `/${p.path_with_namespace}/-/pipelines/${pl.id}`,
    illustration: null,
    favicon: `/assets/ci_favicons/favicon_status_${pl.status}.png`,
  });

  /** A pipeline as `GET /projects/:id/pipelines/:pipeline_id` answers it. */
  const full = (p: StoredProject, pl: StoredPipeline, commit?: CommitInfo) => ({
    ...basic(p, pl),
    before_sha: pl.before_sha,
    tag: false,
    yaml_errors: pl.yaml_errors,
    user,
    started_at: pl.started_at,
    finished_at: pl.finished_at,
    committed_at: commit?.committed_date ?? null,
    duration: seconds(pl.started_at, pl.finished_at),
    queued_duration: seconds(pl.created_at, pl.started_at),
    coverage: null,
    archived: false,
    detailed_status: detailedStatus(p, pl),
  });

  /** A job as `GET /projects/:id/pipelines/:pipeline_id/jobs` lists it. */
  const job = (p: StoredProject, pl: StoredPipeline, j: StoredJob, commit?: CommitInfo) => ({
    id: j.id,
    status: j.status,
    stage: j.stage,
    name: j.name,
    ref: pl.ref,
    tag: false,
    coverage: null,
    allow_failure: false,
    created_at: j.created_at,
    started_at: j.started_at,
    finished_at: j.finished_at,
    erased_at: null,
    duration: seconds(j.started_at, j.finished_at),
    queued_duration: seconds(j.created_at, j.started_at),
    user,
    commit: commit
      ? {
          id: commit.id,
          short_id: commit.short_id,
          title: commit.title,
          message: commit.message,
          author_name: commit.author_name,
          author_email: commit.author_email,
          authored_date: commit.authored_date,
          committer_name: commit.committer_name,
          committer_email: commit.committer_email,
          committed_date: commit.committed_date,
          created_at: commit.created_at,
          parent_ids: commit.parent_ids,
          web_url: `${projectUrl(p)}/-/commit/${commit.id}`,
        }
      : null,
    pipeline: {
      id: pl.id,
      iid: pl.iid,
      project_id: p.id,
      ref: pl.ref,
      sha: pl.sha,
      status: pl.status,
      source: pl.source,
      created_at: pl.created_at,
      updated_at: pl.updated_at,
      web_url: `${projectUrl(p)}/-/pipelines/${pl.id}`,
    },
    web_url: `${projectUrl(p)}/-/jobs/${j.id}`,
    project: { ci_job_token_scope_enabled: false },
    artifacts: [],
    runner: null,
    artifacts_expire_at: null,
    archived: false,
    tag_list: [],
  });

  return { basic, full, job };
}
