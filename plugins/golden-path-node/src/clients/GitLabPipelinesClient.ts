import { Config } from '@backstage/config';
import {
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { Gitlab, JobSchema } from '@gitbeaker/rest';
import {
  LatestPipeline,
  PipelineStage,
} from '@internal/plugin-golden-path-common';
import { GitLabConnection, readGitLabConnection } from '../config';

/** Each GitLab request gives up after this long (gitbeaker's default is 5 minutes). */
export const GITLAB_QUERY_TIMEOUT_MS = 10_000;

/** Jobs are read 100 at a time (GitLab's maximum), at most this many pages. */
const JOB_PAGE_SIZE = 100;
const MAX_JOB_PAGES = 10;

/**
 * A project's full path as GitLab spells it: `group[/subgroup...]/project`,
 * each part letters, digits, `_`, `-` and `.`, starting with a letter, digit
 * or `_` (so never `.` or `..`).
 */
const PROJECT_PATH = /^\w[\w.-]*(\/\w[\w.-]*)+$/;

/** True when `path` can be a GitLab project's full path. */
export function isProjectPath(path: unknown): path is string {
  return (
    typeof path === 'string' && path.length <= 1024 && PROJECT_PATH.test(path)
  );
}

/**
 * The status GitLab shows for a stage, from the statuses of its jobs: the
 * rules of GitLab's composite status (`Gitlab::Ci::Status::Composite`), where
 * a failed or canceled job that is allowed to fail does not count.
 */
export function stageStatus(
  jobs: Pick<JobSchema, 'status' | 'allow_failure'>[],
): string {
  const statuses = new Set(
    jobs.map(job =>
      job.allow_failure && ['failed', 'canceled'].includes(job.status)
        ? 'ignored'
        : job.status,
    ),
  );
  const onlyOf = (...allowed: string[]) =>
    [...statuses].every(s => allowed.includes(s));
  const anyOf = (...wanted: string[]) => wanted.some(s => statuses.has(s));
  const neutral = ['success_with_warnings', 'ignored'];
  if (statuses.size === 0 || onlyOf('skipped', 'ignored')) return 'skipped';
  if (onlyOf('success', 'skipped', ...neutral)) return 'success';
  if (onlyOf('created', ...neutral)) return 'created';
  if (onlyOf('preparing', ...neutral)) return 'preparing';
  if (onlyOf('canceled', 'success', 'skipped', ...neutral)) return 'canceled';
  if (onlyOf('pending', 'created', 'skipped', ...neutral)) return 'pending';
  if (anyOf('running', 'pending')) return 'running';
  if (anyOf('waiting_for_resource')) return 'waiting_for_resource';
  if (anyOf('manual')) return 'manual';
  if (anyOf('scheduled')) return 'scheduled';
  if (anyOf('preparing')) return 'preparing';
  if (anyOf('created')) return 'running';
  return 'failed';
}

/**
 * The stages of a pipeline in the order they run, each with its status.
 * GitLab lists a pipeline's jobs newest first and its jobs are created stage
 * by stage, so ascending job ids give the stage order.
 */
export function stagesOf(
  jobs: Pick<JobSchema, 'id' | 'stage' | 'status' | 'allow_failure'>[],
): PipelineStage[] {
  const byStage = new Map<string, typeof jobs>();
  for (const job of [...jobs].sort((a, b) => a.id - b.id)) {
    const list = byStage.get(job.stage) ?? [];
    list.push(job);
    byStage.set(job.stage, list);
  }
  return [...byStage].map(([name, stageJobs]) => ({
    name,
    status: stageStatus(stageJobs),
  }));
}

/**
 * Reads pipelines of GitLab projects with the platform's GitLab token
 * (read-only; the token never leaves the backend, and no error carries it).
 */
export class GitLabPipelinesClient {
  /** Typed without camelize: responses keep GitLab's snake_case keys. */
  private readonly api: Gitlab<false>;
  private readonly host: string;
  private readonly token: string;

  /** From `goldenPath.gitlab.host` and its `integrations.gitlab[]` entry. */
  static fromConfig(config: Config): GitLabPipelinesClient {
    return GitLabPipelinesClient.fromConnection(readGitLabConnection(config));
  }

  /** From a connection read once (see {@link readGitLabConnection}). */
  static fromConnection(connection: GitLabConnection): GitLabPipelinesClient {
    return new GitLabPipelinesClient({
      baseUrl: connection.gitbeakerHost,
      host: connection.host,
      token: connection.token,
    });
  }

  constructor(options: {
    /** GitLab's URL without `/api/v4`, e.g. https://gitlab.example.com. */
    baseUrl: string;
    /** Host named in error messages. */
    host: string;
    token: string;
    queryTimeoutMs?: number;
  }) {
    this.host = options.host;
    this.token = options.token;
    this.api = new Gitlab({
      host: options.baseUrl,
      token: options.token,
      queryTimeout: options.queryTimeoutMs ?? GITLAB_QUERY_TIMEOUT_MS,
    });
  }

  /**
   * The project's newest pipeline (optionally of one `ref`) with its stages,
   * or undefined when the project has none. NotFoundError when the project
   * does not exist or the token cannot see it.
   */
  async getLatestPipeline(
    projectPath: string,
    opts: { ref?: string } = {},
  ): Promise<LatestPipeline | undefined> {
    if (!isProjectPath(projectPath)) {
      throw new InputError(
        `'${projectPath}' is not a GitLab project path (group/project)`,
      );
    }
    let pipelines;
    try {
      pipelines = await this.api.Pipelines.all(projectPath, {
        perPage: 1,
        maxPages: 1,
        orderBy: 'id',
        sort: 'desc',
        ...(opts.ref ? { ref: opts.ref } : {}),
      });
    } catch (error) {
      throw this.toBackstageError(error, `list pipelines of ${projectPath}`);
    }
    const latest = pipelines[0];
    if (!latest) return undefined;

    let jobs: JobSchema[];
    try {
      jobs = await this.api.Jobs.all(projectPath, {
        pipelineId: latest.id,
        perPage: JOB_PAGE_SIZE,
        maxPages: MAX_JOB_PAGES,
      });
    } catch (error) {
      throw this.toBackstageError(
        error,
        `list jobs of pipeline ${latest.id} of ${projectPath}`,
      );
    }
    return {
      id: latest.id,
      status: latest.status,
      ref: latest.ref,
      sha: latest.sha,
      createdAt: latest.created_at,
      webUrl: latest.web_url,
      stages: stagesOf(jobs),
    };
  }

  /**
   * gitbeaker/HTTP failures as Backstage errors. Messages are built from
   * `what`, the host and the status only, never from the request (whose
   * headers carry the token) or the upstream error, and no cause is kept,
   * so nothing of the request can reach a response.
   */
  private toBackstageError(error: unknown, what: string): Error {
    const cause = (
      error as { cause?: { response?: { status?: unknown } } } | undefined
    )?.cause;
    const status = cause?.response?.status;
    const prefix = `GitLab ${this.host}: cannot ${what}`;
    if (status === 404) {
      return new NotFoundError(`${prefix}: not found`);
    }
    if (status === 401 || status === 403) {
      return new NotAllowedError(
        `${prefix}: permission denied (HTTP ${status}); check the portal's GitLab token`,
      );
    }
    if (status === 400) {
      return new InputError(`${prefix}: rejected as invalid`);
    }
    const name = error instanceof Error ? error.name : '';
    let reason = 'unreachable';
    if (typeof status === 'number') reason = `HTTP ${status}`;
    else if (/timeout/i.test(name)) reason = 'timed out';
    return new ServiceUnavailableError(
      `${prefix}: ${reason}`.split(this.token).join('***'),
    );
  }
}
