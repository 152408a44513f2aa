import { createHash } from 'node:crypto';
import { LoggerService } from '@backstage/backend-plugin-api';
import { isError } from '@backstage/errors';
import {
  RENDER_VERSION,
  RUN_MARKER_KEY,
  SERVICE_RECORD_PATH,
  UPGRADE_BRANCH,
  UPGRADE_TARGET_BRANCH,
  runMarkerTopic,
} from '@internal/plugin-golden-path-common';
import {
  ArgoCdApi,
  GitLabApi,
  GitLabChangesApi,
  GitLabCommit,
  GitLabMergeRequest,
  KubernetesApi,
} from '@internal/plugin-golden-path-node';
import {
  INITIAL_IMAGE_TAG,
  ServicePlan,
  planService,
  withMarker,
} from '../plan/ServicePlan';
import { deriveNames } from '../render/derive';
import {
  DEPLOYMENT_MANIFEST_PATH,
  ServiceRecord,
  imageTagOf,
  parseServiceRecord,
} from '../render/record';
import { PlatformSettings } from '../render/types';
import {
  FileChange,
  FileOutcome,
  changesOf,
  pathsNeedingBase,
  planUpgrade,
  upgradePaths,
} from './planUpgrade';
import { unifiedDiff } from './textDiff';

/** The clients an upgrade acts through. */
export interface UpgradeClients {
  gitlab: Pick<GitLabApi, 'findProject'> & GitLabChangesApi;
  kubernetes: Pick<KubernetesApi, 'apply' | 'namespaceLabels'>;
  argocd: Pick<
    ArgoCdApi,
    'getProject' | 'ensureProject' | 'getApplication' | 'ensureApplication'
  >;
}

/** A golden-path service as the catalog knows it. */
export interface UpgradeTarget {
  /** Service name (the entity's name). */
  name: string;
  entityRef: string;
  /** The run marker on the entity and on everything its Create made. */
  marker: string;
}

/**
 * What happened to one service:
 * `unchanged` (nothing to do, or the open MR is already up to date),
 * `opened` / `updated` (the upgrade merge request), `would-upgrade` (dry
 * run with changes), `skipped` (cannot or must not be upgraded, e.g. no
 * record), `failed` (an error; the message says why).
 */
export type UpgradeOutcome =
  | 'unchanged'
  | 'opened'
  | 'updated'
  | 'would-upgrade'
  | 'skipped'
  | 'failed';

/** One service's result. */
export interface ServiceUpgradeResult {
  service: string;
  entityRef: string;
  status: UpgradeOutcome;
  detail: string;
  mergeRequest?: { iid: number; url: string };
  /** Recorded → current render version, once the record was read. */
  renderVersion?: { from: number; to: number };
  /** Every file the upgrade changes or keeps (not the unchanged ones). */
  files: Array<{ path: string; kind: FileOutcome['kind']; note?: string }>;
  /** What was done (or would be) to the platform-applied parts. */
  platform: string[];
  /** Dry run: the unified diff of the GitOps repository. */
  diff?: string;
}

/** Markers of a conflict in a file the upgrade commits. */
export const CONFLICT_LABELS = {
  ours: `${UPGRADE_TARGET_BRANCH} (edited by hand)`,
  theirs: `golden path (render version ${RENDER_VERSION})`,
};

/** Trailer naming the change a commit on the upgrade branch carries. */
const FINGERPRINT_TRAILER = 'Golden-Path-Upgrade';
const FINGERPRINT = new RegExp(`^${FINGERPRINT_TRAILER}: ([0-9a-f]{64})$`, 'm');

/** The fingerprint of an upgrade commit, or undefined for anyone else's commit. */
export function upgradeFingerprintOf(commit: GitLabCommit): string | undefined {
  return FINGERPRINT.exec(commit.message)?.[1];
}

/** git's blob id of a text file: lets unchanged files be skipped without reading them. */
export function gitBlobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1')
    .update(`blob ${bytes.length}\0`)
    .update(bytes)
    .digest('hex');
}

/** `1 file`, `2 files`. */
function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker),
  );
  return results;
}

const KIND_WORDS: Record<FileOutcome['kind'], string> = {
  unchanged: 'unchanged',
  create: 'added',
  update: 'updated',
  delete: 'removed (no longer rendered)',
  merged: 'edited by hand: merged with the new render',
  conflict: 'edited by hand: CONFLICT with the new render',
  kept: 'edited by hand: kept',
};

function mergeRequestTitle(conflicts: number): string {
  const title = `Upgrade to the current golden path (render version ${RENDER_VERSION})`;
  // GitLab will not merge a draft: conflict markers cannot be merged by accident.
  return conflicts ? `Draft: ${title}` : title;
}

function mergeRequestDescription(
  name: string,
  record: ServiceRecord,
  outcomes: FileOutcome[],
): string {
  const shown = outcomes.filter(o => o.kind !== 'unchanged');
  const conflicts = shown.filter(o => o.kind === 'conflict');
  const lines = [
    `The golden path's upgrade re-rendered the GitOps manifests of **${name}** with the platform's current render layer (render version ${record.renderVersion} → ${RENDER_VERSION}), from the inputs recorded in \`${SERVICE_RECORD_PATH}\`. This merge request changes exactly what differs from \`${UPGRADE_TARGET_BRANCH}\`.`,
    '',
    '| File | Change |',
    '| --- | --- |',
    ...shown.map(
      o =>
        `| \`${o.path}\` | ${KIND_WORDS[o.kind]}${
          o.kind === 'conflict' ? ` (${o.conflicts})` : ''
        }${o.kind === 'kept' ? ` (${o.reason})` : ''} |`,
    ),
    '',
  ];
  if (conflicts.length) {
    lines.push(
      `### Conflicts: resolve before merging`,
      '',
      `${conflicts.length === 1 ? 'This file was' : 'These files were'} edited by hand since the last render, and the new render changes the same lines. The hand edit was not overwritten: each place is marked between \`<<<<<<< ${CONFLICT_LABELS.ours}\` and \`>>>>>>> ${CONFLICT_LABELS.theirs}\`. Keep what is right, remove the markers, push to \`${UPGRADE_BRANCH}\`, then mark this merge request as ready.`,
      '',
      ...conflicts.map(o => `- \`${o.path}\``),
      '',
    );
  }
  if (shown.some(o => o.kind === 'merged' || o.kind === 'kept')) {
    lines.push(
      'Files edited by hand keep their edits: a file the new render also changes is merged with them (review it); the others are left as they are.',
      '',
    );
  }
  lines.push(
    `Running the upgrade again replaces this branch with the then-current difference and updates this merge request, unless someone has pushed to \`${UPGRADE_BRANCH}\`.`,
  );
  return lines.join('\n');
}

function commitMessage(
  name: string,
  changes: FileChange[],
  fingerprint: string,
): string {
  return [
    `Upgrade ${name} to the current golden path (render version ${RENDER_VERSION})`,
    '',
    ...changes.map(c => `- ${c.path}: ${KIND_WORDS[c.kind]}`),
    '',
    `${FINGERPRINT_TRAILER}: ${fingerprint}`,
  ].join('\n');
}

/**
 * Re-renders golden-path services' GitOps repositories with today's render
 * layer from the inputs each repository records, and proposes the
 * difference as one merge request per service (from {@link UPGRADE_BRANCH});
 * re-applies the parts the platform applies directly (namespace bundle,
 * ArgoCD project and application). Only resources carrying the service's
 * run marker are touched. Safe to repeat: an unchanged difference changes
 * nothing, a new one replaces the branch and updates the open merge request.
 */
export class ServiceUpgrader {
  constructor(
    private readonly opts: {
      settings: PlatformSettings;
      clients: UpgradeClients;
      logger: LoggerService;
      now?: () => Date;
      /** Services upgraded at the same time. Default 4. */
      concurrency?: number;
    },
  ) {}

  /** Upgrades every target, a few at a time; one failure does not stop the others. */
  upgradeAll(
    targets: UpgradeTarget[],
    opts: { dryRun: boolean },
  ): Promise<ServiceUpgradeResult[]> {
    return mapLimit(targets, this.opts.concurrency ?? 4, target =>
      this.upgrade(target, opts),
    );
  }

  /** Upgrades one service. Never throws: a failure is a `failed` result naming the cause. */
  async upgrade(
    target: UpgradeTarget,
    opts: { dryRun: boolean },
  ): Promise<ServiceUpgradeResult> {
    const result: ServiceUpgradeResult = {
      service: target.name,
      entityRef: target.entityRef,
      status: 'failed',
      detail: '',
      files: [],
      platform: [],
    };
    try {
      await this.run(target, opts, result);
    } catch (error) {
      result.status = 'failed';
      const message = isError(error) ? error.message : String(error);
      result.detail = result.detail ? `${result.detail}; then: ${message}` : message;
      this.opts.logger.warn(`Upgrade of ${target.name} failed: ${message}`);
    }
    return result;
  }

  private async run(
    target: UpgradeTarget,
    opts: { dryRun: boolean },
    result: ServiceUpgradeResult,
  ): Promise<void> {
    const { settings, clients } = this.opts;
    const { gitlab } = clients;
    const repoPath = deriveNames(settings, target.name).gitopsRepoPath;
    const project = await gitlab.findProject(repoPath);
    if (!project) {
      result.detail = `No GitOps repository ${repoPath}`;
      return;
    }
    if (!project.topics.includes(runMarkerTopic(target.marker))) {
      result.status = 'skipped';
      result.detail = `GitOps repository ${repoPath} does not carry this service's run marker: left alone`;
      return;
    }
    const head = await gitlab.getBranchHead(project.id, UPGRADE_TARGET_BRANCH);
    if (!head) {
      result.detail = `${repoPath} has no ${UPGRADE_TARGET_BRANCH} branch`;
      return;
    }
    const tree = new Map(
      (await gitlab.listTree(project.id, head.sha)).map(f => [f.path, f.blobId]),
    );
    const recordText = tree.has(SERVICE_RECORD_PATH)
      ? await gitlab.readFile(project.id, SERVICE_RECORD_PATH, head.sha)
      : undefined;
    if (recordText === undefined) {
      result.status = 'skipped';
      result.detail = `No record (${SERVICE_RECORD_PATH}) in ${repoPath}: it was created before the golden path recorded its inputs, so it cannot be upgraded`;
      return;
    }
    const record = parseServiceRecord(recordText);
    result.renderVersion = { from: record.renderVersion, to: RENDER_VERSION };
    if (record.request.name !== target.name) {
      result.detail = `The record in ${repoPath} is for "${record.request.name}", not "${target.name}"`;
      return;
    }
    const deployment = tree.has(DEPLOYMENT_MANIFEST_PATH)
      ? await gitlab.readFile(project.id, DEPLOYMENT_MANIFEST_PATH, head.sha)
      : undefined;
    // Keep the release CI deployed last: the image tag is not an input.
    const imageTag = (deployment && imageTagOf(deployment)) ?? INITIAL_IMAGE_TAG;
    const plan = planService(
      settings,
      { ...record.request, runtime: record.runtime, initialImageTag: imageTag },
      { marker: target.marker, now: (this.opts.now ?? (() => new Date()))() },
    );
    const rendered = plan.gitops.files.map(f => ({ path: f.path, content: f.content }));
    const renderedByPath = new Map(rendered.map(f => [f.path, f.content]));

    const known: Record<string, string | undefined> = {
      [SERVICE_RECORD_PATH]: recordText,
      [DEPLOYMENT_MANIFEST_PATH]: deployment,
    };
    const main: Record<string, string | undefined> = {};
    await mapLimit(upgradePaths(record, rendered), 4, async path => {
      const blobId = tree.get(path);
      const content = renderedByPath.get(path);
      if (blobId === undefined) main[path] = undefined;
      else if (content !== undefined && gitBlobId(content) === blobId) main[path] = content;
      else if (known[path] !== undefined) main[path] = known[path];
      else main[path] = await gitlab.readFile(project.id, path, head.sha);
    });
    const bases: Record<string, string | undefined> = {};
    const needBase = pathsNeedingBase({ record, main, rendered });
    if (needBase.length) {
      // The last render is the commit that last wrote the record.
      const at = await gitlab.lastCommitTouching(project.id, head.sha, SERVICE_RECORD_PATH);
      if (at) {
        await mapLimit(needBase, 4, async path => {
          bases[path] = await gitlab.readFile(project.id, path, at);
        });
      }
    }
    const outcomes = planUpgrade({ record, main, rendered, bases, labels: CONFLICT_LABELS });
    const changes = changesOf(outcomes);
    result.files = outcomes
      .filter(o => o.kind !== 'unchanged')
      .map(o => ({
        path: o.path,
        kind: o.kind,
        ...(o.kind === 'kept' ? { note: o.reason } : {}),
        ...(o.kind === 'conflict' ? { note: `${count(o.conflicts, 'place')} marked` } : {}),
      }));
    const conflicts = changes.filter(c => c.kind === 'conflict').length;

    if (opts.dryRun) {
      result.status = changes.length ? 'would-upgrade' : 'unchanged';
      result.detail = changes.length
        ? `Would change ${count(changes.length, 'file')}${conflicts ? `, ${conflicts} with conflicts` : ''} in ${repoPath}`
        : `${repoPath} already matches the current golden path`;
      result.diff = changes
        .map(c => unifiedDiff(c.path, main[c.path], c.kind === 'delete' ? undefined : c.content))
        .join('');
      result.platform = await this.platformParts(plan, target.marker, true);
      return;
    }

    await this.proposeChanges(project.id, repoPath, target, record, outcomes, head.sha, result);
    result.platform = await this.platformParts(plan, target.marker, false);
  }

  /** The branch and merge request part of an upgrade (not a dry run). */
  private async proposeChanges(
    projectId: number,
    repoPath: string,
    target: UpgradeTarget,
    record: ServiceRecord,
    outcomes: FileOutcome[],
    baseSha: string,
    result: ServiceUpgradeResult,
  ): Promise<void> {
    const { gitlab } = this.opts.clients;
    const { logger } = this.opts;
    const changes = changesOf(outcomes);
    const open = await gitlab.findOpenMergeRequest(projectId, {
      sourceBranch: UPGRADE_BRANCH,
      targetBranch: UPGRADE_TARGET_BRANCH,
    });
    const branch = await gitlab.getBranchHead(projectId, UPGRADE_BRANCH);
    const branchIsOurs = !branch || upgradeFingerprintOf(branch) !== undefined;
    const mr = (m: GitLabMergeRequest) => {
      result.mergeRequest = { iid: m.iid, url: m.webUrl };
    };
    if (open) mr(open);

    if (!changes.length) {
      result.status = 'unchanged';
      result.detail = `${repoPath} already matches the current golden path`;
      if (open && branchIsOurs) {
        await gitlab.updateMergeRequest(projectId, open.iid, { stateEvent: 'close' });
        logger.info(`Closed merge request !${open.iid} of ${repoPath}: main already matches the golden path`);
        result.detail += `; closed the stale upgrade merge request !${open.iid}`;
        result.mergeRequest = undefined;
      }
      return;
    }
    if (!branchIsOurs) {
      result.status = 'skipped';
      result.detail = `Branch ${UPGRADE_BRANCH} of ${repoPath} has commits the upgrade did not make${
        open ? ` (merge request !${open.iid})` : ''
      }: merge or close it and delete the branch, then upgrade again. Nothing was changed.`;
      return;
    }

    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ baseSha, changes }))
      .digest('hex');
    const upToDate = branch !== undefined && upgradeFingerprintOf(branch) === fingerprint;
    if (!upToDate) {
      const { sha } = await gitlab.commitChanges(projectId, {
        branch: UPGRADE_BRANCH,
        startSha: baseSha,
        force: true,
        message: commitMessage(target.name, changes, fingerprint),
        changes: changes.map(c =>
          c.kind === 'delete'
            ? { action: 'delete' as const, path: c.path }
            : {
                action: c.kind === 'create' ? ('create' as const) : ('update' as const),
                path: c.path,
                content: c.content,
              },
        ),
      });
      logger.info(`Pushed ${count(changes.length, 'changed file')} to ${repoPath} branch ${UPGRADE_BRANCH} in commit ${sha}`);
    }
    const conflicts = changes.filter(c => c.kind === 'conflict').length;
    const title = mergeRequestTitle(conflicts);
    const description = mergeRequestDescription(target.name, record, outcomes);
    const summary = `${count(changes.length, 'file')} changed${
      conflicts ? `, ${conflicts} with conflicts to resolve` : ''
    }`;

    if (open) {
      if (upToDate && open.title === title && open.description === description) {
        result.status = 'unchanged';
        result.detail = `Upgrade merge request !${open.iid} is up to date (${summary})`;
        return;
      }
      mr(await gitlab.updateMergeRequest(projectId, open.iid, { title, description }));
      logger.info(`Updated merge request !${open.iid} of ${repoPath}`);
      result.status = 'updated';
      result.detail = `Updated merge request !${open.iid} (${summary})`;
      return;
    }
    try {
      const created = await gitlab.createMergeRequest(projectId, {
        sourceBranch: UPGRADE_BRANCH,
        targetBranch: UPGRADE_TARGET_BRANCH,
        title,
        description,
        labels: ['golden-path-upgrade'],
        removeSourceBranch: true,
      });
      mr(created);
      result.status = 'opened';
      result.detail = `Opened merge request !${created.iid} (${summary})`;
    } catch (error) {
      // Another run opened it meanwhile: that one shows this branch too.
      if (!isError(error) || error.name !== 'ConflictError') throw error;
      const raced = await gitlab.findOpenMergeRequest(projectId, {
        sourceBranch: UPGRADE_BRANCH,
        targetBranch: UPGRADE_TARGET_BRANCH,
      });
      if (!raced) throw error;
      mr(raced);
      result.status = 'updated';
      result.detail = `Merge request !${raced.iid} was opened meanwhile; its branch now holds ${summary}`;
    }
  }

  /**
   * The parts the platform applies directly, not through the GitOps
   * repository: the namespace bundle (guard rails) and the ArgoCD project
   * and application. Each is re-applied only when it exists and carries the
   * service's run marker; nothing missing is re-created.
   */
  private async platformParts(
    plan: ServicePlan,
    marker: string,
    dryRun: boolean,
  ): Promise<string[]> {
    const { kubernetes, argocd } = this.opts.clients;
    const { logger } = this.opts;
    const lines: string[] = [];
    const namespace = plan.names.namespace;
    const labels = await kubernetes.namespaceLabels(namespace);
    const bundle = plan.namespaceBundle.map(o => withMarker(o, marker));
    if (!labels) {
      lines.push(`Kubernetes namespace ${namespace} does not exist: not re-created`);
    } else if (labels[RUN_MARKER_KEY] !== marker) {
      lines.push(`Kubernetes namespace ${namespace} does not carry this service's run marker: left alone`);
    } else if (dryRun) {
      lines.push(`Would re-apply the namespace bundle of ${namespace} (${bundle.length} objects)`);
    } else {
      await kubernetes.apply(bundle);
      logger.info(`Re-applied the namespace bundle of ${namespace} (${bundle.length} objects)`);
      lines.push(`Re-applied the namespace bundle of ${namespace} (${bundle.length} objects, server-side apply)`);
    }
    const argo = [
      {
        kind: 'AppProject',
        object: withMarker(plan.argocd.project, marker),
        get: (name: string) => argocd.getProject(name),
        ensure: (o: Record<string, any>) => argocd.ensureProject(o, { update: true }),
      },
      {
        kind: 'Application',
        object: withMarker(plan.argocd.application, marker),
        get: (name: string) => argocd.getApplication(name),
        ensure: (o: Record<string, any>) => argocd.ensureApplication(o, { update: true }),
      },
    ];
    for (const { kind, object, get, ensure } of argo) {
      const name = object.metadata.name;
      const current = await get(name);
      if (!current) {
        lines.push(`ArgoCD ${kind} ${name} does not exist: not re-created`);
      } else if (current.metadata?.labels?.[RUN_MARKER_KEY] !== marker) {
        lines.push(`ArgoCD ${kind} ${name} does not carry this service's run marker: left alone`);
      } else if (dryRun) {
        lines.push(`Would update ArgoCD ${kind} ${name} where its spec differs`);
      } else {
        const outcome = await ensure(object);
        if (outcome === 'updated') logger.info(`Updated ArgoCD ${kind} ${name}`);
        lines.push(`ArgoCD ${kind} ${name}: ${outcome}`);
      }
    }
    return lines;
  }
}
