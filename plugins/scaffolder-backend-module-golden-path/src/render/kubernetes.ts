import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Namespace,
  V1ResourceQuota,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { RenderContext } from './context';
import { renderGrafanaDashboard } from './dashboard';
import { InputError } from '@backstage/errors';
import { iamRoleArn } from './iam';
import {
  secretStoreKey,
  secretStoreName,
  secretsRoleName,
  secretsServiceAccountName,
  vaultRoleName,
} from './secrets';
import { REPLICAS_MAX, assertImageTag } from './input';
import {
  ROLE_LABEL,
  selectorLabels,
  syncWave,
  textAnnotations,
} from './labels';
import { PlatformSettings } from './types';

// Core objects are checked against the @kubernetes/client-node types with
// `satisfies`, so a misspelt field is a compile error; the tests also
// validate them against the Kubernetes OpenAPI schema at runtime.

/** Name of the Service port, the container port and the ServiceMonitor endpoint. */
export const HTTP_PORT_NAME = 'http';
/** Port the Service exposes inside the cluster. */
export const SERVICE_PORT = 80;
/** Unprivileged user and group the app runs as (any non-zero id works). */
export const APP_UID = 10001;
/** Name of the container in the pod. */
export const CONTAINER_NAME = 'app';
/** Ingress class of the AWS Load Balancer Controller. */
export const INGRESS_CLASS = 'alb';
/** How often the ExternalSecret re-reads the secret store. */
export const SECRET_REFRESH_INTERVAL = '1h';
/** How often Prometheus scrapes the app. */
export const SCRAPE_INTERVAL = '30s';

/** Name of the Secret the ExternalSecret writes and the Deployment reads. */
export function envSecretName(name: string): string {
  return `${name}-env`;
}

/** Annotation EKS reads to give a ServiceAccount's tokens an IAM role (IRSA). */
export const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/**
 * The image reference `<ecrRegistry>/<name>:<tag>`. The app's CI finds this
 * exact text in `manifests/deployment.yaml` and rewrites the tag.
 */
export function containerImage(
  settings: PlatformSettings,
  name: string,
  tag: string,
): string {
  const registry = settings.ecrRegistry
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  return `${registry}/${name}:${tag}`;
}

/**
 * The app's Namespace. `pod-security.kubernetes.io/enforce: restricted`
 * makes the API server refuse pods that would weaken the security context
 * below; the generated Deployment meets that profile.
 */
export function renderNamespace(
  ctx: RenderContext,
) {
  const { names, labels, request: req } = ctx;
  const namespaceLabels: Record<string, string> = {
    ...labels,
    [ROLE_LABEL]: 'app',
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/warn': 'restricted',
  };
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: names.namespace,
      labels: namespaceLabels,
      annotations: {
        ...syncWave('namespace'),
        ...textAnnotations(req.owner, req.description),
      },
    },
  } satisfies V1Namespace;
}

/**
 * The pods' ServiceAccount. Its token is not mounted: the app does not call
 * the Kubernetes API by default, and a mounted token is a credential an
 * attacker in the container could use. Mount one explicitly if needed.
 */
export function renderServiceAccount(
  ctx: RenderContext,
) {
  const { names, labels } = ctx;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: names.serviceAccount,
      namespace: names.namespace,
      labels,
      annotations: syncWave('access'),
    },
    automountServiceAccountToken: false,
  } satisfies V1ServiceAccount;
}

/** Name of the read-only Role and its RoleBinding. */
export function readOnlyRoleName(name: string): string {
  return `${name}-read-only`;
}

/** Verbs the app's Role grants: reading only, never writing. */
export const READ_ONLY_VERBS: readonly string[] = ['get', 'list', 'watch'];
/** Resources the app's Role lets it read. Secrets are deliberately absent. */
export const READABLE_RESOURCES: readonly string[] = [
  'configmaps',
  'pods',
  'services',
  'endpoints',
];

/** Read-only access to the app's own namespace (no secrets, no writes). */
export function renderRole(
  ctx: RenderContext,
) {
  const { names, labels } = ctx;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: {
      name: readOnlyRoleName(names.namespace),
      namespace: names.namespace,
      labels,
      annotations: syncWave('access'),
    },
    rules: [
      {
        apiGroups: [''],
        resources: [...READABLE_RESOURCES],
        verbs: [...READ_ONLY_VERBS],
      },
    ],
  } satisfies V1Role;
}

/** Binds the read-only Role to the app's ServiceAccount. */
export function renderRoleBinding(
  ctx: RenderContext,
) {
  const { names, labels } = ctx;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: readOnlyRoleName(names.namespace),
      namespace: names.namespace,
      labels,
      annotations: syncWave('access'),
    },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: readOnlyRoleName(names.namespace),
    },
    subjects: [
      {
        kind: 'ServiceAccount',
        name: names.serviceAccount,
        namespace: names.namespace,
      },
    ],
  } satisfies V1RoleBinding;
}

/**
 * Syncs the app's secret from the service's own SecretStore into Secret
 * `<name>-env`. Every key stored at `<prefix>/<name>/app` becomes an
 * environment variable of the app (via envFrom). The store is namespaced
 * and platform-owned, so this object (which the team may edit) cannot
 * reach anything outside `<prefix>/<name>/`.
 */
export function renderExternalSecret(
  ctx: RenderContext,
) {
  const { settings, names, labels } = ctx;
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: {
      name: envSecretName(names.namespace),
      namespace: names.namespace,
      labels,
      annotations: syncWave('secrets'),
    },
    spec: {
      refreshInterval: SECRET_REFRESH_INTERVAL,
      secretStoreRef: {
        kind: 'SecretStore',
        name: secretStoreName(names.namespace),
      },
      target: { name: envSecretName(names.namespace), creationPolicy: 'Owner' },
      dataFrom: [
        { extract: { key: secretStoreKey(settings, names.namespace) } },
      ],
    },
  };
}

/**
 * The ServiceAccount the SecretStore authenticates as. With the aws
 * provider it carries the IRSA annotation of role `idp-<name>-secrets`,
 * whose trust policy admits only this account of this namespace; with
 * vault, Vault's Kubernetes auth role is bound to it the same way. No pod
 * of the app runs as it, and its token is never mounted.
 */
export function renderSecretsServiceAccount(ctx: RenderContext) {
  const { settings, names, labels } = ctx;
  const annotations: Record<string, string> = { ...syncWave('access') };
  if (settings.secrets.provider === 'aws') {
    annotations[IRSA_ROLE_ANNOTATION] = iamRoleArn(
      settings,
      secretsRoleName(names.namespace),
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: secretsServiceAccountName(names.namespace),
      namespace: names.namespace,
      labels,
      annotations,
    },
    automountServiceAccountToken: false,
  } satisfies V1ServiceAccount;
}

/**
 * The service's own SecretStore, namespaced and applied by the platform
 * (the AppProject does not let the GitOps repository touch SecretStores).
 * What it can read is decided outside the cluster, by the identity it
 * authenticates as: the IAM role's policy (aws) or the Vault policy of the
 * service's role (vault) allow `<prefix>/<name>/*` only.
 */
export function renderSecretStore(ctx: RenderContext) {
  const { settings, names, labels } = ctx;
  const serviceAccountRef = {
    name: secretsServiceAccountName(names.namespace),
  };
  const { vault } = settings.secrets;
  let provider: Record<string, unknown>;
  if (settings.secrets.provider === 'vault') {
    if (!vault) {
      throw new Error(
        'goldenPath.secrets.vault is missing: the vault provider needs server, kvMount and authMount',
      );
    }
    provider = {
      vault: {
        server: vault.server,
        path: vault.kvMount,
        version: 'v2',
        auth: {
          kubernetes: {
            mountPath: vault.authMount,
            role: vaultRoleName(names.namespace),
            serviceAccountRef,
          },
        },
      },
    };
  } else {
    provider = {
      aws: {
        service: 'SecretsManager',
        region: settings.awsRegion,
        auth: { jwt: { serviceAccountRef } },
      },
    };
  }
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'SecretStore',
    metadata: {
      name: secretStoreName(names.namespace),
      namespace: names.namespace,
      labels,
      annotations: syncWave('access'),
    },
    spec: { provider },
  };
}

/**
 * Most pods the namespace may run: the largest replica count the form
 * allows, the one extra pod of a rolling update, and room for one job.
 */
export const QUOTA_PODS = REPLICAS_MAX + 2;

/** Default and largest resources of a container in an app namespace. */
export const CONTAINER_LIMITS = {
  defaultRequest: { cpu: '100m', memory: '128Mi' },
  default: { cpu: '500m', memory: '256Mi' },
  max: { cpu: '1', memory: '1Gi' },
} as const;

/**
 * The namespace's ResourceQuota: what all pods together may ask for. It
 * is sized for {@link QUOTA_PODS} pods of the largest container the
 * LimitRange allows, so a legitimate rollout always fits, while a runaway
 * workload (or a team's experiment) cannot take the cluster. No
 * LoadBalancer or NodePort Services: traffic enters through the shared ALB
 * only, which is what the NetworkPolicies and the AppProject assume.
 */
export function renderResourceQuota(ctx: RenderContext) {
  const { names, labels } = ctx;
  const times = (quantity: string) => scaleQuantity(quantity, QUOTA_PODS);
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: {
      name: names.namespace,
      namespace: names.namespace,
      labels,
      annotations: syncWave('access'),
    },
    spec: {
      hard: {
        pods: String(QUOTA_PODS),
        'requests.cpu': times(CONTAINER_LIMITS.max.cpu),
        'requests.memory': times(CONTAINER_LIMITS.max.memory),
        'limits.cpu': times(CONTAINER_LIMITS.max.cpu),
        'limits.memory': times(CONTAINER_LIMITS.max.memory),
        'requests.storage': '0',
        persistentvolumeclaims: '0',
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      },
    },
  } satisfies V1ResourceQuota;
}

// No `satisfies V1LimitRange`: @kubernetes/client-node renames `default`
// to `_default`, so its type does not describe the wire format.

/**
 * The namespace's LimitRange: containers that state no resources get the
 * defaults (the quota requires every pod to state them), and none may ask
 * for more than {@link CONTAINER_LIMITS}.max.
 */
export function renderLimitRange(ctx: RenderContext) {
  const { names, labels } = ctx;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: {
      name: names.namespace,
      namespace: names.namespace,
      labels,
      annotations: syncWave('access'),
    },
    spec: {
      limits: [
        {
          type: 'Container',
          defaultRequest: { ...CONTAINER_LIMITS.defaultRequest },
          default: { ...CONTAINER_LIMITS.default },
          max: { ...CONTAINER_LIMITS.max },
        },
      ],
    },
  };
}

const millicores = (q: string) =>
  q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
const kibibytes = (q: string) =>
  Number(q.slice(0, -2)) * ({ Ki: 1, Mi: 1024, Gi: 1024 * 1024 }[q.slice(-2)] ?? 1);

/**
 * The LimitRange refuses a bigger container, so a template asking for one
 * would only fail later, in the cluster: say so now.
 */
function assertWithinContainerMax(limits: { cpu: string; memory: string }) {
  const { max } = CONTAINER_LIMITS;
  if (
    millicores(limits.cpu) > millicores(max.cpu) ||
    kibibytes(limits.memory) > kibibytes(max.memory)
  ) {
    throw new InputError(
      `The template's runtime.resources.limits (cpu ${limits.cpu}, memory ${limits.memory}) exceed what an app namespace allows per container (cpu ${max.cpu}, memory ${max.memory})`,
    );
  }
}

/** `2` × 12 = `24`, `2Gi` × 12 = `24Gi`, `500m` × 3 = `1500m`. */
function scaleQuantity(quantity: string, factor: number): string {
  const match = /^(\d+)([a-zA-Z]*)$/.exec(quantity);
  if (!match) throw new Error(`Cannot scale quantity ${quantity}`);
  return `${Number(match[1]) * factor}${match[2]}`;
}

/** Security context shared by pod and container: the "restricted" profile. */
function restrictedSecurityContext() {
  return {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * The app's Deployment. The root filesystem is read-only, so `/tmp` is a
 * memory-limited emptyDir for libraries that need scratch space. Env comes
 * from the ExternalSecret's Secret (sync waves make sure it exists first)
 * plus PORT, which the generated Express app listens on.
 */
export function renderDeployment(
  ctx: RenderContext,
  opts: { imageTag: string },
) {
  assertImageTag(opts.imageTag);
  const { settings, names, labels, request: req, runtime } = ctx;
  assertWithinContainerMax(runtime.resources.limits);
  const probe = (timing: { initialDelaySeconds: number; periodSeconds: number }) => ({
    httpGet: { path: runtime.healthPath, port: req.port },
    ...timing,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: req.name,
      namespace: names.namespace,
      labels,
      annotations: {
        ...syncWave('workload'),
        ...textAnnotations(req.owner, req.description),
      },
    },
    spec: {
      replicas: req.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(req.name) },
      strategy: {
        type: 'RollingUpdate',
        // Never go below the requested capacity during a rollout.
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: names.serviceAccount,
          automountServiceAccountToken: false,
          securityContext: { ...restrictedSecurityContext(), fsGroup: APP_UID },
          containers: [
            {
              name: CONTAINER_NAME,
              image: containerImage(settings, req.name, opts.imageTag),
              imagePullPolicy: 'IfNotPresent',
              ports: [
                {
                  name: HTTP_PORT_NAME,
                  containerPort: req.port,
                  protocol: 'TCP',
                },
              ],
              env: [
                { name: 'PORT', value: String(req.port) },
                ...Object.entries(runtime.env).map(([name, value]) => ({
                  name,
                  value,
                })),
              ],
              envFrom: [
                { secretRef: { name: envSecretName(names.namespace) } },
              ],
              readinessProbe: probe(runtime.probes.readiness),
              livenessProbe: probe(runtime.probes.liveness),
              resources: {
                requests: { ...runtime.resources.requests },
                limits: { ...runtime.resources.limits },
              },
              securityContext: {
                ...restrictedSecurityContext(),
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  } satisfies V1Deployment;
}

/** ClusterIP Service: port 80 to the container's named port. */
export function renderService(
  ctx: RenderContext,
) {
  const { names, labels, request: req } = ctx;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: req.name,
      namespace: names.namespace,
      labels,
      annotations: syncWave('workload'),
    },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(req.name),
      ports: [
        {
          name: HTTP_PORT_NAME,
          port: SERVICE_PORT,
          targetPort: HTTP_PORT_NAME,
          protocol: 'TCP',
        },
      ],
    },
  } satisfies V1Service;
}

/**
 * Ingress on the shared ALB (one load balancer for all apps, joined by
 * `group.name`). `target-type: ip` sends traffic straight to pod IPs, which
 * is why the NetworkPolicy admits the load balancer's subnets on the app
 * port.
 */
export function renderIngress(
  ctx: RenderContext,
) {
  const { settings, names, labels, request: req, runtime } = ctx;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: req.name,
      namespace: names.namespace,
      labels,
      annotations: {
        ...syncWave('workload'),
        'alb.ingress.kubernetes.io/scheme': 'internet-facing',
        'alb.ingress.kubernetes.io/target-type': 'ip',
        'alb.ingress.kubernetes.io/group.name': settings.albGroupName,
        'alb.ingress.kubernetes.io/certificate-arn': settings.certificateArn,
        'alb.ingress.kubernetes.io/listen-ports': JSON.stringify([
          { HTTP: 80 },
          { HTTPS: 443 },
        ]),
        'alb.ingress.kubernetes.io/ssl-redirect': '443',
        'alb.ingress.kubernetes.io/healthcheck-path': runtime.healthPath,
      },
    },
    spec: {
      ingressClassName: INGRESS_CLASS,
      tls: [{ hosts: [names.host] }],
      rules: [
        {
          host: names.host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: {
                  service: { name: req.name, port: { name: HTTP_PORT_NAME } },
                },
              },
            ],
          },
        },
      ],
    },
  } satisfies V1Ingress;
}

/** Tells the Prometheus Operator to scrape `/metrics` on the Service's http port. */
export function renderServiceMonitor(
  ctx: RenderContext,
) {
  const { names, labels, request: req, runtime } = ctx;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: {
      name: req.name,
      namespace: names.namespace,
      labels,
      annotations: syncWave('observability'),
    },
    spec: {
      selector: { matchLabels: selectorLabels(req.name) },
      namespaceSelector: { matchNames: [names.namespace] },
      endpoints: [
        {
          port: HTTP_PORT_NAME,
          path: runtime.metricsPath,
          interval: SCRAPE_INTERVAL,
          scheme: 'http',
        },
      ],
    },
  };
}

/** Label the Grafana dashboard sidecar looks for. */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

/** ConfigMap holding the app's Grafana dashboard, picked up by the Grafana sidecar. */
export function renderDashboardConfigMap(
  ctx: RenderContext,
) {
  const { names, labels, request: req } = ctx;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${req.name}-dashboard`,
      namespace: names.namespace,
      labels: { ...labels, [GRAFANA_DASHBOARD_LABEL]: '1' } as Record<
        string,
        string
      >,
      annotations: syncWave('observability'),
    },
    data: {
      // Pretty-printed so the file diffs well in the GitOps repository.
      [`${req.name}.json`]: `${JSON.stringify(
        renderGrafanaDashboard(req.name),
        null,
        2,
      )}\n`,
    },
  } satisfies V1ConfigMap;
}
