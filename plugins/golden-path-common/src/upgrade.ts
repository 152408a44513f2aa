/**
 * Upgrade to the current golden path: what the scaffolder module writes into
 * each GitOps repository (the record of what it rendered), what it proposes
 * (a merge request from one branch) and what the entity page shows.
 */

/**
 * Version of the render layer (the scaffolder module's `render/`). Bump it
 * whenever a change there changes what an existing service's GitOps
 * repository, namespace bundle or ArgoCD project would contain: a new label,
 * a new manifest, a changed default, a guard rail. Services whose record is
 * older then show "upgrade waiting" on their entity page until an upgrade
 * merge request is merged. Pure refactors that render byte-identical output
 * need no bump. An integer, only ever increased.
 */
export const RENDER_VERSION = 1;

/** Where the record lives in each GitOps repository. */
export const SERVICE_RECORD_PATH = '.golden-path/service.json';

/** The branch every upgrade merge request comes from (one open MR per service). */
export const UPGRADE_BRANCH = 'golden-path/upgrade';

/** The branch upgrades target: the one ArgoCD syncs. */
export const UPGRADE_TARGET_BRANCH = 'main';

/** The entity page's view of a service's render version: `GET /upgrade?entityRef=`. */
export interface UpgradeStatus {
  /** Render version the GitOps repository's main was last rendered with; null without a record. */
  renderVersion: number | null;
  /** The portal's render version ({@link RENDER_VERSION}). */
  currentRenderVersion: number;
  /** An upgrade merge request is open, or the record is older than the current render version. */
  upgradeWaiting: boolean;
  /** The open upgrade merge request, if any. */
  mergeRequest?: { iid: number; url: string; title: string };
}

/**
 * The record's render version, or undefined when `text` is not a record
 * (not JSON, or no positive integer `renderVersion`).
 */
export function recordedRenderVersion(text: string): number | undefined {
  try {
    const version = (JSON.parse(text) as { renderVersion?: unknown })
      ?.renderVersion;
    return typeof version === 'number' &&
      Number.isInteger(version) &&
      version > 0
      ? version
      : undefined;
  } catch {
    return undefined;
  }
}
