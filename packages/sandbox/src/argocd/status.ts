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
export function inspectSource(repos: GitRepos, source: Json): SourceState {
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
  const sha = repos.resolve(fullPath, targetRevision);
  if (!sha) return { kind: 'revisionNotFound', repoURL, targetRevision };
  const dir = String(source.path ?? '').replace(/^(\.\/|\.$|\/)+|\/+$/g, '');
  const files = repos.listTree(fullPath, sha);
  const hasContent = dir ? files.some(f => f.startsWith(`${dir}/`)) : files.length > 0;
  return hasContent ? { kind: 'ready', sha } : { kind: 'empty', repoURL, path: dir || '.', sha };
}

/** A recorded "sync": when the fake first saw these revisions ready. */
export interface SyncRecord {
  revisions: string[];
  startedAt: string;
  finishedAt: string;
}

/**
 * The Application's `status`, as ArgoCD reports it:
 * - a source repository does not exist → sync `Unknown`, health `Missing`,
 *   and a `ComparisonError` condition "... repository not found";
 * - the revision does not exist, or has nothing under `path` → `OutOfSync`/`Missing`;
 * - every source has manifests → `Synced`/`Healthy`, revision = the commit sha,
 *   with an operationState of the (pretend) automated sync.
 *
 * `record` is the last sync recorded; `onSynced` is called to record a new
 * one when the ready revisions differ from it.
 */
export function applicationStatus(
  repos: GitRepos,
  app: Json,
  now: string,
  record: SyncRecord | undefined,
  onSynced: (record: SyncRecord) => void,
): Json {
  const spec = app.spec ?? {};
  const sources = sourcesOf(spec);
  const multi = Array.isArray(spec.sources) && spec.sources.length > 0;
  const states = sources.map(s => inspectSource(repos, s));
  const shas = states.map(s => ('sha' in s ? s.sha : ''));
  const comparedTo = {
    ...(multi ? { sources } : { source: sources[0] ?? {} }),
    destination: spec.destination ?? {},
  };
  let revisionFields: Json = {};
  if (multi) revisionFields = { revisions: shas };
  else if (shas[0]) revisionFields = { revision: shas[0] };
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
  if (states.some(s => s.kind !== 'ready')) {
    return {
      ...base,
      sync: { status: 'OutOfSync', comparedTo, ...revisionFields },
      health: { status: 'Missing', lastTransitionTime: now },
      ...(conditions.length ? { conditions } : {}),
    };
  }

  let sync = record;
  if (!sync || sync.revisions.join(',') !== shas.join(',')) {
    sync = { revisions: shas, startedAt: now, finishedAt: now };
    onSynced(sync);
  }
  const revision = multi ? { revisions: sync.revisions } : { revision: sync.revisions[0] };
  return {
    ...base,
    sync: { status: 'Synced', comparedTo, ...revision },
    health: { status: 'Healthy', lastTransitionTime: sync.finishedAt },
    operationState: {
      operation: {
        sync: { ...revision, syncOptions: spec.syncPolicy?.syncOptions ?? [] },
        initiatedBy: { automated: true },
        retry: spec.syncPolicy?.retry ?? {},
      },
      phase: 'Succeeded',
      message: 'successfully synced (all tasks run)',
      startedAt: sync.startedAt,
      finishedAt: sync.finishedAt,
      syncResult: {
        ...revision,
        ...(multi ? { sources } : { source: sources[0] }),
        resources: [],
      },
    },
    history: [
      {
        id: 0,
        ...revision,
        ...(multi ? { sources } : { source: sources[0] }),
        deployStartedAt: sync.startedAt,
        deployedAt: sync.finishedAt,
        initiatedBy: { automated: true },
      },
    ],
  };
}
