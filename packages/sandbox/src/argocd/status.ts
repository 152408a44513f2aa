/**
 * An Application's sync and health status, worked out from the GitLab
 * fake's real repositories: the sandbox has no controller, so "synced"
 * means "the source has manifests at the target revision".
 */
import { GitRepos } from '../git';

type Json = Record<string, any>;

/** The default branch ArgoCD's `HEAD` stands for in the GitLab fake. */
const DEFAULT_BRANCH = 'main';

/**
 * The GitLab project path of a repository URL: the URL's path without the
 * leading slash and `.git` (`https://gitlab.example.com/platform/gitops/x-gitops.git`
 * → `platform/gitops/x-gitops`). The host is ignored, so any GitLab host
 * maps onto the GitLab fake. SCP-like URLs (`git@host:group/x.git`) work too.
 */
export function repoFullPath(repoURL: unknown): string | undefined {
  if (typeof repoURL !== 'string' || !repoURL.trim()) return undefined;
  let pathname: string;
  try {
    pathname = new URL(repoURL.trim()).pathname;
  } catch {
    const scp = /^[^@/]+@[^:/]+:(.+)$/.exec(repoURL.trim());
    if (!scp) return undefined;
    pathname = scp[1];
  }
  try {
    pathname = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const fullPath = pathname.replace(/^\/+|\/+$/g, '').replace(/(\.git)+$/i, '');
  return fullPath || undefined;
}

/** The sources of an Application spec (`source`, or every one of `sources`). */
export function sourcesOf(spec: Json | undefined): Json[] {
  if (Array.isArray(spec?.sources) && spec.sources.length > 0) {
    return spec.sources.filter((s: unknown) => typeof s === 'object' && s !== null);
  }
  return typeof spec?.source === 'object' && spec.source !== null ? [spec.source] : [];
}

/** What the "repo-server" found for one source. */
export type SourceState =
  | { kind: 'repositoryNotFound'; repoURL: string }
  | { kind: 'revisionNotFound'; repoURL: string; targetRevision: string }
  | { kind: 'empty'; repoURL: string; path: string; sha: string }
  | { kind: 'ready'; sha: string };

/** Reads one source from the git repositories. */
export async function inspectSource(repos: GitRepos, source: Json): Promise<SourceState> {
  const repoURL = String(source.repoURL ?? '');
  const fullPath = repoFullPath(repoURL);
  let exists = false;
  try {
    exists = fullPath !== undefined && repos.exists(fullPath);
  } catch {
    exists = false; // a path that escapes the git root: no such repository
  }
  if (!fullPath || !exists) return { kind: 'repositoryNotFound', repoURL };
  const wanted = String(source.targetRevision ?? '').trim();
  const targetRevision = !wanted || wanted === 'HEAD' ? DEFAULT_BRANCH : wanted;
  const sha = await repos.resolve(fullPath, targetRevision);
  if (!sha) return { kind: 'revisionNotFound', repoURL, targetRevision };
  const dir = String(source.path ?? '').replace(/^(\.\/|\.$|\/)+|\/+$/g, '');
  const files = await repos.listTree(fullPath, sha);
  const hasContent = dir ? files.some(f => f.startsWith(`${dir}/`)) : files.length > 0;
  return hasContent ? { kind: 'ready', sha } : { kind: 'empty', repoURL, path: dir || '.', sha };
}

/**
 * What ArgoCD has observed of an Application's sources: the revisions it
 * last saw ready (and, the sandbox syncing automatically, deployed), when,
 * and the deployments so far (newest last, at most {@link HISTORY_LIMIT}).
 */
export interface SyncRecord {
  revisions: string[];
  startedAt: string;
  finishedAt: string;
  history?: { id: number; revisions: string[]; deployStartedAt: string; deployedAt: string }[];
}

/** ArgoCD's default `revisionHistoryLimit`. */
export const HISTORY_LIMIT = 10;

/** What the "repo-server" finds for every source of `app` right now. */
export function inspectApp(repos: GitRepos, app: Json): Promise<SourceState[]> {
  return Promise.all(sourcesOf(app.spec).map(s => inspectSource(repos, s)));
}

/**
 * The new record when `states` (all ready) differ from what `record`
 * observed; undefined when nothing changed or a source is not ready.
 */
export function observe(states: SourceState[], record: SyncRecord | undefined, now: string): SyncRecord | undefined {
  if (states.length === 0 || states.some(s => s.kind !== 'ready')) return undefined;
  const shas = states.map(s => (s as { sha: string }).sha);
  if (record && record.revisions.join(',') === shas.join(',')) return undefined;
  const history = [...(record?.history ?? [])];
  history.push({ id: (history[history.length - 1]?.id ?? -1) + 1, revisions: shas, deployStartedAt: now, deployedAt: now });
  return { revisions: shas, startedAt: now, finishedAt: now, history: history.slice(-HISTORY_LIMIT) };
}

/**
 * The Application's `status`, as ArgoCD reports it, from what the sources
 * hold now (`states`) and what ArgoCD has observed (`record`):
 * - a source repository does not exist → sync `Unknown`, health `Missing`,
 *   and a `ComparisonError` condition "... repository not found";
 * - never observed ready (no revision, or nothing under `path`) → `OutOfSync`/`Missing`;
 * - observed: `Synced` while the observed revisions are the branch heads,
 *   `OutOfSync` once a new commit is there that ArgoCD has not noticed yet
 *   (by polling or webhook); `revision`, `operationState` and `history`
 *   are those of the observed (and automatically synced) revisions.
 */
export function applicationStatus(app: Json, states: SourceState[], now: string, record: SyncRecord | undefined): Json {
  const spec = app.spec ?? {};
  const sources = sourcesOf(spec);
  const multi = Array.isArray(spec.sources) && spec.sources.length > 0;
  const shas = states.map(s => ('sha' in s ? s.sha : ''));
  const comparedTo = {
    ...(multi ? { sources } : { source: sources[0] ?? {} }),
    destination: spec.destination ?? {},
  };
  const base = {
    controllerNamespace: 'argocd',
    reconciledAt: now,
    observedAt: now,
    sourceType: 'Directory',
    ...(multi ? { sourceTypes: sources.map(() => 'Directory') } : {}),
    summary: {},
  };

  const conditions = states.flatMap((state, i) => {
    const where = multi ? `source ${i + 1} of ${sources.length}` : 'source 1 of 1';
    const prefix = `Failed to load target state: failed to generate manifest for ${where}: rpc error: code = Unknown desc =`;
    switch (state.kind) {
      case 'repositoryNotFound':
        return [{ type: 'ComparisonError', message: `${prefix} failed to list refs: repository not found: ${state.repoURL}`, lastTransitionTime: now }];
      case 'revisionNotFound':
        return [{ type: 'ComparisonError', message: `${prefix} unable to resolve '${state.targetRevision}' to a commit SHA`, lastTransitionTime: now }];
      default:
        return [];
    }
  });

  if (sources.length === 0 || states.some(s => s.kind === 'repositoryNotFound')) {
    return {
      ...base,
      sync: { status: 'Unknown', comparedTo },
      health: { status: 'Missing', lastTransitionTime: now },
      conditions,
    };
  }
  if (!record) {
    let revisionFields: Json = {};
    if (multi) revisionFields = { revisions: shas };
    else if (shas[0]) revisionFields = { revision: shas[0] };
    return {
      ...base,
      sync: { status: 'OutOfSync', comparedTo, ...revisionFields },
      health: { status: 'Missing', lastTransitionTime: now },
      ...(conditions.length ? { conditions } : {}),
    };
  }

  const synced = shas.join(',') === record.revisions.join(',');
  const revision = multi ? { revisions: record.revisions } : { revision: record.revisions[0] };
  const history = record.history ?? [
    { id: 0, revisions: record.revisions, deployStartedAt: record.startedAt, deployedAt: record.finishedAt },
  ];
  return {
    ...base,
    sync: { status: synced ? 'Synced' : 'OutOfSync', comparedTo, ...revision },
    health: { status: 'Healthy', lastTransitionTime: record.finishedAt },
    ...(conditions.length ? { conditions } : {}),
    operationState: {
      operation: {
        sync: { ...revision, syncOptions: spec.syncPolicy?.syncOptions ?? [] },
        initiatedBy: { automated: true },
        retry: spec.syncPolicy?.retry ?? {},
      },
      phase: 'Succeeded',
      message: 'successfully synced (all tasks run)',
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      syncResult: {
        ...revision,
        ...(multi ? { sources } : { source: sources[0] }),
        resources: [],
      },
    },
    history: history.map(h => ({
      id: h.id,
      ...(multi ? { revisions: h.revisions } : { revision: h.revisions[0] }),
      ...(multi ? { sources } : { source: sources[0] }),
      deployStartedAt: h.deployStartedAt,
      deployedAt: h.deployedAt,
      initiatedBy: { automated: true },
    })),
  };
}
