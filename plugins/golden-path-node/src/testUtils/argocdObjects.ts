/**
 * An AppProject and an Application shaped like the ones the golden-path
 * render layer produces for `exampleRequest` (payments-api), for client and
 * sandbox tests that need realistic ArgoCD bodies without the render layer.
 */

const labels = {
  'app.kubernetes.io/name': 'payments-api',
  'app.kubernetes.io/managed-by': 'golden-path-idp',
  'backstage.io/kubernetes-id': 'payments-api',
  'idp-owner': 'team-payments',
};

/** The service's AppProject: one source repository, one namespace. */
export const exampleAppProject = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AppProject',
  metadata: {
    name: 'payments-api',
    namespace: 'argocd',
    labels,
    finalizers: ['resources-finalizer.argocd.argoproj.io'],
  },
  spec: {
    description: 'Golden-path service payments-api',
    sourceRepos: ['https://gitlab.example.com/platform/gitops/payments-api-gitops.git'],
    destinations: [
      { server: 'https://kubernetes.default.svc', namespace: 'payments-api' },
    ],
    clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
    namespaceResourceWhitelist: [
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Service' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'networking.k8s.io', kind: 'Ingress' },
    ],
    orphanedResources: { warn: true },
  },
};

/** The service's Application: automated sync of `manifests/` from `main`. */
export const exampleApplication = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: {
    name: 'payments-api',
    namespace: 'argocd',
    labels,
    annotations: {
      'golden-path-idp/owner': 'group:default/team-payments',
      'golden-path-idp/description': 'Takes payments: cards, "wallets" & more #fast',
    },
    finalizers: ['resources-finalizer.argocd.argoproj.io'],
  },
  spec: {
    project: 'payments-api',
    source: {
      repoURL: 'https://gitlab.example.com/platform/gitops/payments-api-gitops.git',
      path: 'manifests',
      targetRevision: 'main',
    },
    destination: {
      server: 'https://kubernetes.default.svc',
      namespace: 'payments-api',
    },
    syncPolicy: {
      automated: { prune: true, selfHeal: true },
      syncOptions: ['CreateNamespace=false', 'ServerSideApply=true'],
      retry: {
        limit: 5,
        backoff: { duration: '10s', factor: 2, maxDuration: '3m' },
      },
    },
    revisionHistoryLimit: 10,
  },
};
