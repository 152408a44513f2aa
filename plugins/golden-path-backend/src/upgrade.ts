import { NotFoundError } from '@backstage/errors';
import {
  RENDER_VERSION,
  RUN_MARKER_KEY,
  SERVICE_RECORD_PATH,
  UPGRADE_BRANCH,
  UPGRADE_TARGET_BRANCH,
  UpgradeStatus,
  recordedRenderVersion,
  runMarkerTopic,
} from '@internal/plugin-golden-path-common';
import {
  GitLabApi,
  GitLabChangesApi,
} from '@internal/plugin-golden-path-node';

/** What the upgrade status needs from GitLab. */
export type UpgradeStatusGitLab = Pick<GitLabApi, 'findProject'> &
  Pick<GitLabChangesApi, 'readFile' | 'findOpenMergeRequest'>;

/**
 * The GitOps repository of service `name`: `<gitopsGroup>/<name>-gitops`,
 * the convention the scaffolder module's render/derive.ts creates it by.
 */
export function gitopsRepoPathOf(gitopsGroup: string, name: string): string {
  return `${gitopsGroup.trim().replace(/^\/+|\/+$/g, '')}/${name}-gitops`;
}

/**
 * The render version of a golden-path service and whether an upgrade is
 * waiting: read from its GitOps repository's record and its open upgrade
 * merge request. Only a repository carrying the entity's run marker counts
 * as the service's.
 */
export async function upgradeStatusOf(
  entity: {
    metadata: { name: string; annotations?: Record<string, string> };
  },
  deps: {
    gitlab: UpgradeStatusGitLab;
    gitopsGroup: string;
    /** Default: this portal's {@link RENDER_VERSION}. */
    currentRenderVersion?: number;
  },
): Promise<UpgradeStatus> {
  const { gitlab } = deps;
  const current = deps.currentRenderVersion ?? RENDER_VERSION;
  const path = gitopsRepoPathOf(deps.gitopsGroup, entity.metadata.name);
  const marker = entity.metadata.annotations?.[RUN_MARKER_KEY];
  const project = await gitlab.findProject(path);
  if (!project || !marker || !project.topics.includes(runMarkerTopic(marker))) {
    throw new NotFoundError(`No GitOps repository of this service at ${path}`);
  }
  const [record, mergeRequest] = await Promise.all([
    gitlab.readFile(project.id, SERVICE_RECORD_PATH, UPGRADE_TARGET_BRANCH),
    gitlab.findOpenMergeRequest(project.id, {
      sourceBranch: UPGRADE_BRANCH,
      targetBranch: UPGRADE_TARGET_BRANCH,
    }),
  ]);
  const renderVersion =
    record === undefined ? null : recordedRenderVersion(record) ?? null;
  return {
    renderVersion,
    currentRenderVersion: current,
    upgradeWaiting:
      !!mergeRequest || (renderVersion !== null && renderVersion < current),
    ...(mergeRequest
      ? {
          mergeRequest: {
            iid: mergeRequest.iid,
            url: mergeRequest.webUrl,
            title: mergeRequest.title,
          },
        }
      : {}),
  };
}
