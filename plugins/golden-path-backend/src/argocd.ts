import { ArgoCdApplicationStatus } from '@internal/plugin-golden-path-common';

/** An ArgoCD Application name: a DNS-1123 subdomain. */
const APPLICATION_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** True when `name` can be an ArgoCD Application's name. */
export function isApplicationName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length <= 253 &&
    APPLICATION_NAME.test(name)
  );
}

/** Browser URL of a repository URL ArgoCD clones (`https://…/x.git`), or null. */
function repositoryWebUrl(repoUrl: unknown): string | null {
  if (typeof repoUrl !== 'string' || !/^https?:\/\//i.test(repoUrl)) {
    return null;
  }
  try {
    const url = new URL(repoUrl);
    // Never hand out credentials written into a repository URL.
    url.username = '';
    url.password = '';
    return url
      .toString()
      .replace(/\/+$/, '')
      .replace(/\.git$/, '');
  } catch {
    return null;
  }
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The status card's view of an Application as ArgoCD's API returns it
 * (`v1alpha1Application`: status.sync, status.health, status.operationState,
 * status.history).
 */
export function toApplicationStatus(
  name: string,
  app: Record<string, any>,
  ui: { argocdUrl: string; namespace: string },
): ArgoCdApplicationStatus {
  const status = app?.status ?? {};
  const history: any[] = Array.isArray(status.history) ? status.history : [];
  const lastDeployed = history[history.length - 1];
  const sources: any[] = Array.isArray(app?.spec?.sources)
    ? app.spec.sources
    : [app?.spec?.source];
  return {
    name,
    sync: str(status.sync?.status) ?? 'Unknown',
    health: str(status.health?.status) ?? 'Unknown',
    revision:
      str(status.sync?.revision) ??
      str(status.sync?.revisions?.[0]) ??
      str(status.operationState?.syncResult?.revision) ??
      str(lastDeployed?.revision) ??
      null,
    lastSyncedAt:
      str(status.operationState?.finishedAt) ??
      str(lastDeployed?.deployedAt) ??
      null,
    url: `${ui.argocdUrl
      .trim()
      .replace(/\/+$/, '')}/applications/${encodeURIComponent(
      ui.namespace,
    )}/${encodeURIComponent(name)}`,
    repoUrl: repositoryWebUrl(sources[0]?.repoURL),
  };
}
