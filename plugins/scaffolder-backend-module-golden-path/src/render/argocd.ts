import { RenderContext } from './context';
import { textAnnotations } from './labels';

/** Folder of the GitOps repository that ArgoCD syncs. */
export const GITOPS_MANIFESTS_PATH = 'manifests';
/** Branch ArgoCD follows. */
export const GITOPS_TARGET_REVISION = 'main';

/**
 * Deleting the Application or AppProject first cleans up what it manages
 * (Application) or waits until no Application uses it (AppProject), so a
 * rollback leaves nothing behind.
 */
export const ARGOCD_RESOURCES_FINALIZER =
  'resources-finalizer.argocd.argoproj.io';

/** A Kubernetes group/kind pair as ArgoCD's resource lists spell it. */
export interface GroupKind {
  group: string;
  kind: string;
}

/**
 * The kinds a service's GitOps repository may contain: its workload, exactly
 * what `renderGitopsRepository` generates. Everything else in the namespace
 * is a guard rail the platform applies itself ({@link GUARD_RAIL_KINDS}),
 * and ArgoCD refuses it from the repository. A namespaced kind missing here
 * (a Secret, a Job, a PersistentVolumeClaim) is refused too.
 */
export const APP_NAMESPACED_KINDS: readonly GroupKind[] = [
  { group: 'apps', kind: 'Deployment' },
  { group: '', kind: 'Service' },
  { group: 'networking.k8s.io', kind: 'Ingress' },
  { group: '', kind: 'ConfigMap' },
  { group: 'external-secrets.io', kind: 'ExternalSecret' },
  { group: 'monitoring.coreos.com', kind: 'ServiceMonitor' },
];

/**
 * The guard rails of a service's namespace: applied by the platform
 * directly (the namespace bundle), never through the GitOps repository, so
 * the team that owns the repository cannot lift them.
 */
export const GUARD_RAIL_KINDS: readonly (GroupKind & { namespaced: boolean })[] = [
  { group: '', kind: 'Namespace', namespaced: false },
  { group: 'networking.k8s.io', kind: 'NetworkPolicy', namespaced: true },
  { group: '', kind: 'ServiceAccount', namespaced: true },
  { group: 'rbac.authorization.k8s.io', kind: 'Role', namespaced: true },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', namespaced: true },
  { group: '', kind: 'ResourceQuota', namespaced: true },
  { group: '', kind: 'LimitRange', namespaced: true },
  { group: 'external-secrets.io', kind: 'SecretStore', namespaced: true },
];

/**
 * The service's AppProject: one source repository, one destination
 * namespace, no cluster-scoped kind at all, and only the workload kinds.
 * This is what stops the service's GitOps repository from deploying into
 * other namespaces, creating cluster-wide objects or touching the guard
 * rails of its own namespace.
 */
export function renderAppProject(
  ctx: RenderContext,
) {
  const { settings, names, labels } = ctx;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: names.argocdProject,
      namespace: settings.argocdNamespace,
      labels,
      finalizers: [ARGOCD_RESOURCES_FINALIZER],
    },
    spec: {
      // Generated text only: the free-text description stays in annotations.
      description: `Golden-path service ${names.namespace}`,
      sourceRepos: [names.gitopsRepoUrl],
      destinations: [
        { server: settings.clusterServer, namespace: names.namespace },
      ],
      // Empty: no cluster-scoped kind (the Namespace is the platform's).
      clusterResourceWhitelist: [] as GroupKind[],
      // Never empty: ArgoCD reads an empty list as "every namespaced kind".
      namespaceResourceWhitelist: APP_NAMESPACED_KINDS.map(gk => ({ ...gk })),
      // Objects someone adds by hand in the namespace show up as warnings;
      // the guard rails are the platform's, not orphans.
      orphanedResources: {
        warn: true,
        ignore: GUARD_RAIL_KINDS.filter(gk => gk.namespaced).map(
          ({ group, kind }) => ({ group, kind }),
        ),
      },
    },
  };
}

/** Retry policy: 5 attempts, 10s doubling up to 3 minutes. */
export const SYNC_RETRY = {
  limit: 5,
  backoff: { duration: '10s', factor: 2, maxDuration: '3m' },
} as const;

/**
 * The service's Application: syncs `manifests/` of the GitOps repository's
 * `main` into namespace `<name>`, pruning and self-healing. The Namespace
 * belongs to the platform (it exists before the Application), so
 * CreateNamespace stays off.
 * Server-side apply avoids the annotation size limit of client-side apply.
 */
export function renderApplication(
  ctx: RenderContext,
) {
  const { settings, names, labels, request: req } = ctx;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: names.argocdApplication,
      namespace: settings.argocdNamespace,
      labels,
      annotations: textAnnotations(req.owner, req.description),
      finalizers: [ARGOCD_RESOURCES_FINALIZER],
    },
    spec: {
      project: names.argocdProject,
      source: {
        repoURL: names.gitopsRepoUrl,
        path: GITOPS_MANIFESTS_PATH,
        targetRevision: GITOPS_TARGET_REVISION,
      },
      destination: {
        server: settings.clusterServer,
        namespace: names.namespace,
      },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: ['CreateNamespace=false', 'ServerSideApply=true'],
        retry: { limit: SYNC_RETRY.limit, backoff: { ...SYNC_RETRY.backoff } },
      },
      revisionHistoryLimit: 10,
    },
  };
}
