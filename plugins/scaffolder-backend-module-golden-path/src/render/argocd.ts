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
 * The namespaced kinds a service's GitOps repository may contain: exactly
 * what `renderGitopsRepository` generates. Anything else (a Secret,
 * a ResourceQuota, a LimitRange) is refused by ArgoCD.
 */
export const APP_NAMESPACED_KINDS: readonly GroupKind[] = [
  { group: '', kind: 'ConfigMap' },
  { group: '', kind: 'Service' },
  { group: '', kind: 'ServiceAccount' },
  { group: 'apps', kind: 'Deployment' },
  { group: 'networking.k8s.io', kind: 'Ingress' },
  { group: 'networking.k8s.io', kind: 'NetworkPolicy' },
  { group: 'rbac.authorization.k8s.io', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
  { group: 'external-secrets.io', kind: 'ExternalSecret' },
  { group: 'monitoring.coreos.com', kind: 'ServiceMonitor' },
];

/**
 * The only cluster-scoped kind: the app's own Namespace. ArgoCD checks a
 * Namespace against the project's destinations, so this admits only
 * namespace `<name>`.
 */
export const APP_CLUSTER_KINDS: readonly GroupKind[] = [
  { group: '', kind: 'Namespace' },
];

/**
 * The service's AppProject: one source repository, one destination
 * namespace, and only the kinds the golden path generates. This is what
 * stops the service's GitOps repository from deploying into other
 * namespaces or creating cluster-wide objects.
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
      clusterResourceWhitelist: APP_CLUSTER_KINDS.map(gk => ({ ...gk })),
      namespaceResourceWhitelist: APP_NAMESPACED_KINDS.map(gk => ({ ...gk })),
      // Objects someone adds by hand in the namespace show up as warnings.
      orphanedResources: { warn: true },
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
 * `main` into namespace `<name>`, pruning and self-healing. The Namespace is
 * a manifest in the repository (wave 0), so CreateNamespace stays off.
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
