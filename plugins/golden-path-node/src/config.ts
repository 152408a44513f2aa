import { Config } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { z } from 'zod';
import {
  DatabaseAdminConnection,
  PlatformDatabaseSettings,
  databaseAdminConnection,
  databaseConfigSchema,
  grafanaBaseUrl,
  grafanaConfigSchema,
  platformDatabaseSettings,
} from './databaseConfig';

/**
 * The one declaration of our `goldenPath` config section. The settings
 * reader ({@link readGoldenPathSettings}) and the config validator both use
 * it, so what is read and what is validated cannot drift:
 *
 * - every key's type and format (the validator reports unknown keys too);
 * - which keys are required, with the environment variable that usually
 *   sets each and what it is for ({@link requiredGoldenPathKeys}).
 *
 * `config.d.ts` declares the same keys for Backstage's own config schema
 * (a test compares the two).
 */

/** Metadata of a required key. */
export interface RequiredKey {
  /** Environment variable that sets it in app-config.production.yaml. */
  env?: string;
  /** What the key is for, for the "is missing" message. */
  what: string;
  /**
   * Required in production only (checked by the config validator); locally
   * the reader applies a default.
   */
  productionOnly?: boolean;
}

const REQUIRED = new WeakMap<z.ZodType, RequiredKey>();

/** Marks a key as required; the schema itself keeps it optional so local shape checks still run. */
function required<T extends z.ZodType>(schema: T, meta: RequiredKey) {
  const optional = schema.optional();
  REQUIRED.set(optional, meta);
  return optional;
}

const hostname = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?$/i,
    'must be a host name without scheme, e.g. gitlab.example.com',
  );
const groupPath = z
  .string()
  .regex(
    /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)*$/,
    'must be a GitLab group full path, e.g. platform/gitops',
  );
const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/]+/, 'must be an http(s) URL');
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const cidr = z.string().regex(CIDR, 'must be an IPv4 CIDR');
/** A comma-separated list of CIDRs, as one environment variable can hold it. */
const cidrList = z
  .string()
  .refine(
    text => splitCidrs(text).length > 0 && splitCidrs(text).every(c => CIDR.test(c)),
    'must be IPv4 CIDRs separated by commas, e.g. 10.0.0.0/24,10.0.1.0/24',
  );

/** `a, b,c` → `[a, b, c]` (a list stays a list). */
export function splitCidrs(value: string | string[]): string[] {
  return (Array.isArray(value) ? value : value.split(','))
    .map(c => c.trim())
    .filter(Boolean);
}

/** Shape of `goldenPath`: strict (an unknown key is a typo until proven otherwise). */
export const goldenPathConfigSchema = z
  .object({
    /**
     * Marks a local portal (app-config.yaml). Without it the config validator
     * applies every production rule: production detection fails closed.
     */
    local: z.boolean().optional(),
    signIn: z.enum(['guest', 'github', 'oidc']).optional(),
    /** Who may do what: see roles.yaml (validated by the permission policy module). */
    permissions: z
      .object({ roles: z.unknown().optional() })
      .strict()
      .optional(),
    gitlab: z
      .object({
        host: required(hostname, {
          env: 'GITLAB_HOST',
          what: 'the GitLab host',
        }),
        appGroup: required(groupPath, {
          env: 'GITLAB_APP_GROUP',
          what: 'the GitLab group for app repositories',
        }),
        gitopsGroup: required(groupPath, {
          env: 'GITLAB_GITOPS_GROUP',
          what: 'the GitLab platform group for GitOps repositories',
        }),
        /** Days the GitOps write token of a service lives (GitLab allows at most 365). Default 90. */
        gitopsTokenDays: z.number().int().min(1).max(365).optional(),
      })
      .strict()
      .optional(),
    aws: z
      .object({
        accountId: required(
          z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
          { env: 'AWS_ACCOUNT_ID', what: 'the AWS account id' },
        ),
        region: required(
          z
            .string()
            .regex(
              /^[a-z]{2}(-[a-z]+)+-\d$/,
              'must be an AWS region, e.g. eu-west-1',
            ),
          { env: 'AWS_REGION', what: 'the AWS region' },
        ),
        ecrRegistry: required(z.string(), {
          env: 'ECR_REGISTRY',
          what: 'the ECR registry host',
          productionOnly: true,
        }),
        endpoint: httpUrl.optional(),
        /**
         * How CI reaches ECR: `oidc` (default; GitLab's ID token and an IAM
         * role per service, no long-lived key) or `static-key` (an IAM user
         * and an access key in masked, hidden CI variables).
         */
        ciAuth: z.enum(['oidc', 'static-key']).optional(),
        /** Audience of GitLab's ID token for AWS. Default https://<gitlab host>. */
        gitlabOidcAudience: z.string().optional(),
        /** Name of the permissions boundary on every IAM role and user the platform makes. */
        permissionsBoundaryName: z.string().regex(/^[\w+=,.@-]{1,128}$/, 'must be an IAM policy name').optional(),
      })
      .strict()
      .optional(),
    argocd: z
      .object({
        url: required(httpUrl, { env: 'ARGOCD_URL', what: 'the ArgoCD URL' }),
        token: required(z.string(), {
          env: 'ARGOCD_TOKEN',
          what: 'the ArgoCD API token',
        }),
        namespace: z.string().optional(),
        retry: z
          .object({
            maxAttempts: z.number().int().positive().optional(),
            baseDelayMs: z.number().nonnegative().optional(),
            maxDelayMs: z.number().nonnegative().optional(),
            maxTotalMs: z.number().nonnegative().optional(),
          })
          .strict()
          .optional(),
        requestTimeoutMs: z.number().positive().optional(),
        /**
         * The push webhook Create adds to each GitOps repository, so ArgoCD
         * sees a new commit at once instead of at its next poll (3 min by
         * default). `false` leaves ArgoCD to poll.
         */
        webhook: z
          .union([
            z.literal(false),
            z
              .object({
                /** Where GitLab can reach ArgoCD's webhook. Default `<url>/api/webhook`. */
                url: httpUrl.optional(),
                /** ArgoCD's `webhook.gitlab.secret`, sent as X-Gitlab-Token. */
                secret: z.string().optional(),
              })
              .strict(),
          ])
          .optional(),
      })
      .strict()
      .optional(),
    kubernetes: z
      .object({
        clusterName: z.string().optional(),
        url: required(httpUrl, {
          env: 'K8S_API_URL',
          what: 'the Kubernetes API server URL',
        }),
        token: required(z.string(), {
          env: 'K8S_TOKEN',
          what: 'the Kubernetes service-account token',
        }),
        caData: z.string().optional(),
        skipTLSVerify: z.boolean().optional(),
        argocdClusterServer: httpUrl.optional(),
        /**
         * The cluster's IAM OIDC provider (EKS IRSA), trusted by each
         * service's secrets role, e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC.
         */
        oidcProvider: z.string().optional(),
      })
      .strict()
      .optional(),
    baseDomain: required(hostname, {
      env: 'BASE_DOMAIN',
      what: 'the base domain for service hosts',
    }),
    ingress: z
      .object({
        certificateArn: required(
          z
            .string()
            .regex(
              /^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[-a-f0-9]+$/,
              'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
            ),
          { env: 'ACM_CERTIFICATE_ARN', what: 'the ACM certificate ARN' },
        ),
        albGroupName: required(
          z
            .string()
            .regex(
              /^[a-z0-9][-a-z0-9.]{0,62}$/,
              'must be a lowercase ALB group name',
            ),
          { env: 'ALB_GROUP_NAME', what: 'the shared ALB group name' },
        ),
        loadBalancerSourceCidrs: required(z.union([z.array(cidr).min(1), cidrList]), {
          env: 'ALB_SUBNET_CIDRS',
          what: 'the subnets the load balancer sends traffic from (never the whole VPC)',
        }),
        /** Host names (first labels under baseDomain) that services may not take. */
        reservedHosts: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a host label')).optional(),
      })
      .strict()
      .optional(),
    secretStoreName: z.string().optional(),
    /** Where each service's secrets live: its own path, through a store it cannot widen. */
    secrets: z
      .object({
        provider: z.enum(['aws', 'vault']).optional(),
        /** Path prefix: a service reads only `<prefix>/<service>/…`. Default idp. */
        prefix: z.string().regex(/^[a-z0-9][-a-z0-9/]*[a-z0-9]$/, 'must be a path like idp or platform/idp').optional(),
        vault: z
          .object({
            server: httpUrl,
            /** KV v2 mount. Default secret. */
            kvMount: z.string().optional(),
            /** Kubernetes auth mount. Default kubernetes. */
            authMount: z.string().optional(),
            token: z.string().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    network: z
      .object({
        /** The VPC's CIDR: HTTPS egress never reaches it (nor RFC 1918, nor link-local). */
        vpcCidr: cidr.optional(),
        /** Extra CIDRs HTTPS egress may reach despite the above, e.g. an internal API. */
        egressAllowedCidrs: z.array(cidr).optional(),
      })
      .strict()
      .optional(),
    /** The platform's PostgreSQL, for services that ask for a database (databaseConfig.ts). */
    database: databaseConfigSchema.optional(),
    /** Grafana, linked from every service's catalog entity. */
    grafana: grafanaConfigSchema.optional(),
    monitoringNamespace: z.string().optional(),
    /** How the platform renders every service's manifests. */
    render: z
      .object({
        /**
         * Labels on every object the platform renders (e.g. a cost centre).
         * The platform's own labels win on a clash. A change is a render
         * change: the upgrade proposes it to existing services.
         */
        extraLabels: z
          .record(
            z
              .string()
              .regex(
                /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
                'must be a Kubernetes label key',
              ),
            z
              .string()
              .regex(
                /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/,
                'must be a Kubernetes label value (at most 63 characters)',
              ),
          )
          .optional(),
      })
      .strict()
      .optional(),
    runs: z
      .object({
        leaseSeconds: z.number().int().min(5).max(3600).optional(),
        janitor: z
          .object({
            enabled: z.boolean().optional(),
            intervalSeconds: z.number().int().min(5).max(86_400).optional(),
            abandonedAfterMinutes: z.number().min(0).max(10_080).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** What Decommission does with the service's two GitLab repositories. */
    decommission: z
      .object({ repositories: z.enum(['archive', 'delete']).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** The `goldenPath` section as written (every key optional). */
export type GoldenPathConfig = z.infer<typeof goldenPathConfigSchema>;

function unwrap(schema: z.ZodType): z.ZodType {
  let s: any = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) {
    s = s.unwrap();
  }
  return s;
}

/** Every required key of `goldenPath`, as `goldenPath.<path>` with its metadata. */
export function requiredGoldenPathKeys(): Array<[key: string, meta: RequiredKey]> {
  const out: Array<[string, RequiredKey]> = [];
  const walk = (schema: z.ZodType, path: string) => {
    const meta = REQUIRED.get(schema);
    if (meta) out.push([path, meta]);
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(inner.shape)) {
        walk(child as z.ZodType, `${path}.${key}`);
      }
    }
  };
  walk(goldenPathConfigSchema, 'goldenPath');
  return out;
}

/**
 * Platform settings that the render layer needs: plain, non-secret data,
 * read once at startup.
 */
export interface PlatformSettings {
  /** Host of the GitLab instance, e.g. `gitlab.example.com`. */
  gitlabHost: string;
  /**
   * Browser/clone base URL of GitLab when it is not `https://<gitlabHost>`
   * (the local sandbox serves plain HTTP on a port).
   */
  gitlabBaseUrl?: string;
  /** Full path of the group that holds app repositories, e.g. `apps`. */
  appGroup: string;
  /** Full path of the platform group that holds GitOps repositories. */
  gitopsGroup: string;
  /** 12-digit AWS account id. */
  awsAccountId: string;
  /** AWS region, e.g. `eu-west-1`. */
  awsRegion: string;
  /** ECR registry host, `<account>.dkr.ecr.<region>.amazonaws.com`. */
  ecrRegistry: string;
  /** ArgoCD UI/API base URL, e.g. `https://argocd.example.com`. */
  argocdUrl: string;
  /** Namespace ArgoCD runs in (AppProject/Application live there). */
  argocdNamespace: string;
  /** Kubernetes API server URL of the destination cluster as ArgoCD knows it. */
  clusterServer: string;
  /** Name of the cluster for the Backstage Kubernetes annotations. */
  clusterName: string;
  /** Base domain; a service is served at `<name>.<baseDomain>`. */
  baseDomain: string;
  /** ACM certificate ARN for the shared ALB listener. */
  certificateArn: string;
  /** Shared ALB ingress group (`alb.ingress.kubernetes.io/group.name`). */
  albGroupName: string;
  /** Name of the ClusterSecretStore that ExternalSecrets read from. */
  secretStoreName: string;
  /** Namespace Prometheus runs in (allowed to scrape `/metrics`). */
  monitoringNamespace: string;
  /** Labels added to every rendered object (`goldenPath.render.extraLabels`). */
  extraLabels?: Record<string, string>;
  /** The platform's PostgreSQL for services that ask for one; absent when there is none. */
  database?: PlatformDatabaseSettings;
  /** Grafana's browser URL (dashboards at `<grafanaBaseUrl>/d/<service>`), when known. */
  grafanaBaseUrl?: string;
  /**
   * CIDRs the shared ALB sends traffic from (the VPC subnets, IP target
   * mode); the only sources allowed to reach the app port.
   */
  loadBalancerSourceCidrs: string[];
  /** Host labels under baseDomain that services may not take (e.g. `www`, `api`). */
  reservedHosts: string[];
  /** The VPC's CIDR, never reachable by HTTPS egress (when known). */
  vpcCidr?: string;
  /** Days a service's GitOps write token lives (default 90). */
  gitopsTokenDays?: number;
  /** CIDRs HTTPS egress may reach despite the private-range exclusions. */
  egressAllowedCidrs: string[];
  /** How CI reaches ECR: GitLab OIDC + a role per service, or a static key. */
  ciAuth: 'oidc' | 'static-key';
  /** Audience of GitLab's ID token for AWS. */
  gitlabOidcAudience: string;
  /** Permissions boundary on every IAM role and user the platform makes. */
  permissionsBoundaryName: string;
  /** The cluster's IAM OIDC provider host path (EKS IRSA), if any. */
  clusterOidcProvider?: string;
  /** Secrets: provider, path prefix, and Vault's coordinates. */
  secrets: {
    provider: 'aws' | 'vault';
    prefix: string;
    vault?: { server: string; kvMount: string; authMount: string };
  };
}

/** Host labels the platform keeps for itself on the shared ALB by default. */
export const DEFAULT_RESERVED_HOSTS = [
  'www',
  'api',
  'app',
  'portal',
  'backstage',
  'argocd',
  'grafana',
  'prometheus',
  'gitlab',
  'auth',
  'login',
  'sso',
  'admin',
  'status',
  'mail',
];

/** Where and how to reach GitLab, from Backstage's own `integrations.gitlab`. */
export interface GitLabConnection {
  host: string;
  /** e.g. `https://gitlab.example.com/api/v4` */
  apiBaseUrl: string;
  /** Browser base URL, e.g. `https://gitlab.example.com` */
  baseUrl: string;
  /** What gitbeaker calls `host`: the API base URL without `/api/v4`. */
  gitbeakerHost: string;
  token: string;
}

/** Everything the golden path reads from config, read once. */
export interface GoldenPathSettings {
  platform: PlatformSettings;
  /** The admin connection to the platform's PostgreSQL, when there is one. */
  database?: DatabaseAdminConnection;
  gitlab: GitLabConnection;
  argocd: {
    url: string;
    token: string;
    namespace: string;
    retry: {
      maxAttempts?: number;
      baseDelayMs?: number;
      maxDelayMs?: number;
      maxTotalMs?: number;
    };
    requestTimeoutMs?: number;
    /** The GitOps repositories' push webhook to ArgoCD, unless turned off. */
    webhook?: { url: string; secret?: string };
  };
  aws: {
    accountId: string;
    region: string;
    ecrRegistry: string;
    /** Endpoint override for ECR and IAM (the local sandbox only). */
    endpoint?: string;
  };
  kubernetes: {
    url: string;
    token: string;
    caData?: string;
    skipTLSVerify: boolean;
    clusterName: string;
    argocdClusterServer: string;
  };
}

/** A config problem at startup: names every key at fault. */
export class GoldenPathConfigError extends Error {
  name = 'GoldenPathConfigError';
}

function get(raw: unknown, path: string): unknown {
  let value: any = raw;
  for (const part of path.split('.').slice(1)) {
    value = value?.[part];
  }
  return value;
}

type Section = keyof GoldenPathConfig;

/**
 * Reads `goldenPath` (or one section of it) against the declaration: the
 * shape (types, unknown keys) and the required keys of that part. Throws one
 * {@link GoldenPathConfigError} naming every problem.
 */
function readChecked(
  config: Config,
  section?: Section,
  onlyKeys?: string[],
): GoldenPathConfig {
  const raw = (config.getOptional('goldenPath') ?? {}) as Record<string, any>;
  const prefix = section ? `goldenPath.${section}` : 'goldenPath';
  const schema = section
    ? (goldenPathConfigSchema.shape[section] as z.ZodType)
    : goldenPathConfigSchema;
  const parsed = schema.safeParse(section ? raw[section] : raw);
  if (!parsed.success) {
    throw new GoldenPathConfigError(
      `Invalid config: ${parsed.error.issues
        .map(i => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  }
  const missing = requiredGoldenPathKeys().filter(([key, meta]) => {
    if (meta.productionOnly) return false;
    if (key !== prefix && !key.startsWith(`${prefix}.`)) return false;
    if (onlyKeys && !onlyKeys.includes(key.slice(prefix.length + 1))) {
      return false;
    }
    const value = get(raw, key);
    return (
      value === undefined ||
      value === '' ||
      (Array.isArray(value) && value.length === 0)
    );
  });
  if (missing.length) {
    throw new GoldenPathConfigError(
      `Missing config: ${missing
        .map(
          ([key, m]) =>
            `${key} (${m.what}${m.env ? `, usually set by ${m.env}` : ''})`,
        )
        .join('; ')}`,
    );
  }
  return raw as GoldenPathConfig;
}

/**
 * The GitLab connection for `goldenPath.gitlab.host` from
 * `integrations.gitlab`, through Backstage's own ScmIntegrations (which fills
 * in and normalises `apiBaseUrl` and `baseUrl` the way every other plugin
 * sees them).
 */
export function readGitLabConnection(config: Config): GitLabConnection {
  // The groups are not part of the connection: only the host is required.
  const host = readChecked(config, 'gitlab', ['host']).gitlab!.host!;
  let integration;
  try {
    integration = ScmIntegrations.fromConfig(config).gitlab.byHost(host);
  } catch (error) {
    throw new GoldenPathConfigError(
      `integrations.gitlab: ${(error as Error).message}`,
    );
  }
  const token = integration?.config.token;
  if (!integration || !token) {
    throw new GoldenPathConfigError(
      `No GitLab token for goldenPath.gitlab.host '${host}': add an ` +
        `integrations.gitlab[] entry with host '${host}' and a token`,
    );
  }
  // ScmIntegrations has trimmed trailing slashes; gitbeaker adds /api/v4.
  const apiBaseUrl = integration.config.apiBaseUrl;
  return {
    host,
    apiBaseUrl,
    baseUrl: integration.config.baseUrl,
    gitbeakerHost: apiBaseUrl.replace(/\/api\/v4$/, ''),
    token,
  };
}

/** `goldenPath.argocd`, checked. */
export function readArgoCdSettings(config: Config): GoldenPathSettings['argocd'] {
  const { argocd } = readChecked(config, 'argocd');
  return {
    url: argocd!.url!,
    token: argocd!.token!,
    namespace: argocd!.namespace ?? 'argocd',
    retry: argocd!.retry ?? {},
    requestTimeoutMs: argocd!.requestTimeoutMs,
    webhook:
      argocd!.webhook === false
        ? undefined
        : {
            url:
              argocd!.webhook?.url ??
              `${argocd!.url!.replace(/\/+$/, '')}/api/webhook`,
            secret: argocd!.webhook?.secret || undefined,
          },
  };
}

/** `goldenPath.aws`, checked. */
export function readAwsSettings(config: Config): GoldenPathSettings['aws'] {
  const { aws } = readChecked(config, 'aws');
  return {
    accountId: aws!.accountId!,
    region: aws!.region!,
    ecrRegistry:
      aws!.ecrRegistry ??
      `${aws!.accountId}.dkr.ecr.${aws!.region}.amazonaws.com`,
    endpoint: aws!.endpoint,
  };
}

/** `goldenPath.kubernetes`, checked. */
export function readKubernetesSettings(
  config: Config,
): GoldenPathSettings['kubernetes'] {
  const { kubernetes } = readChecked(config, 'kubernetes');
  return {
    url: kubernetes!.url!,
    token: kubernetes!.token!,
    caData: kubernetes!.caData,
    skipTLSVerify: kubernetes!.skipTLSVerify ?? false,
    clusterName: kubernetes!.clusterName ?? 'default',
    argocdClusterServer:
      kubernetes!.argocdClusterServer ?? 'https://kubernetes.default.svc',
  };
}

/** How runs are journaled and cleaned up (`goldenPath.runs`). */
export interface RunSettings {
  /** How long a process holds a run without renewing its lease. */
  leaseMs: number;
  janitor: {
    enabled: boolean;
    intervalMs: number;
    /** A run with no progress for this long, whose task has ended, is rolled back. */
    abandonedAfterMs: number;
  };
}

/** What Decommission does with the service's GitLab repositories. */
export interface DecommissionSettings {
  /**
   * `archive` (default): read-only, kept for good. `delete`: archived and
   * scheduled for GitLab's delayed deletion (removed after the instance's
   * retention period, restorable until then).
   */
  repositories: 'archive' | 'delete';
}

/** `goldenPath.decommission`, with defaults. */
export function readDecommissionSettings(config: Config): DecommissionSettings {
  const { decommission } = readChecked(config, 'decommission');
  return { repositories: decommission?.repositories ?? 'archive' };
}

/** `goldenPath.runs`, with defaults. */
export function readRunSettings(config: Config): RunSettings {
  const { runs } = readChecked(config, 'runs');
  return {
    leaseMs: (runs?.leaseSeconds ?? 60) * 1000,
    janitor: {
      enabled: runs?.janitor?.enabled ?? true,
      intervalMs: (runs?.janitor?.intervalSeconds ?? 300) * 1000,
      abandonedAfterMs: (runs?.janitor?.abandonedAfterMinutes ?? 10) * 60_000,
    },
  };
}

/**
 * Reads and checks the whole `goldenPath` section once: the shape (types,
 * unknown keys) and every required key. Throws one error naming every problem.
 */
export function readGoldenPathSettings(config: Config): GoldenPathSettings {
  const gp = readChecked(config);
  const gitlab = readGitLabConnection(config);
  const argocd = readArgoCdSettings(config);
  const aws = readAwsSettings(config);
  const kubernetes = readKubernetesSettings(config);
  const platform: PlatformSettings = {
    gitlabHost: gitlab.host,
    gitlabBaseUrl: gitlab.baseUrl,
    appGroup: gp.gitlab!.appGroup!,
    gitopsGroup: gp.gitlab!.gitopsGroup!,
    awsAccountId: aws.accountId,
    awsRegion: aws.region,
    ecrRegistry: aws.ecrRegistry,
    argocdUrl: argocd.url,
    argocdNamespace: argocd.namespace,
    clusterServer: kubernetes.argocdClusterServer,
    clusterName: kubernetes.clusterName,
    baseDomain: gp.baseDomain!,
    certificateArn: gp.ingress!.certificateArn!,
    albGroupName: gp.ingress!.albGroupName!,
    loadBalancerSourceCidrs: splitCidrs(gp.ingress!.loadBalancerSourceCidrs!),
    secretStoreName: gp.secretStoreName ?? 'aws-secrets-manager',
    monitoringNamespace: gp.monitoringNamespace ?? 'monitoring',
    ...(gp.render?.extraLabels ? { extraLabels: gp.render.extraLabels } : {}),
    database: platformDatabaseSettings(gp.database),
    grafanaBaseUrl: grafanaBaseUrl(gp.grafana),
    reservedHosts: gp.ingress!.reservedHosts ?? DEFAULT_RESERVED_HOSTS,
    vpcCidr: gp.network?.vpcCidr,
    gitopsTokenDays: gp.gitlab!.gitopsTokenDays,
    egressAllowedCidrs: gp.network?.egressAllowedCidrs ?? [],
    ciAuth: gp.aws!.ciAuth ?? 'oidc',
    gitlabOidcAudience: gp.aws!.gitlabOidcAudience ?? `https://${gitlab.host}`,
    permissionsBoundaryName: gp.aws!.permissionsBoundaryName ?? 'idp-permissions-boundary',
    clusterOidcProvider: gp.kubernetes!.oidcProvider,
    secrets: {
      provider: gp.secrets?.provider ?? 'aws',
      prefix: gp.secrets?.prefix ?? 'idp',
      vault: gp.secrets?.vault && {
        server: gp.secrets.vault.server,
        kvMount: gp.secrets.vault.kvMount ?? 'secret',
        authMount: gp.secrets.vault.authMount ?? 'kubernetes',
      },
    },
  };
  return {
    platform,
    gitlab,
    argocd,
    aws,
    kubernetes,
    database: databaseAdminConnection(gp.database),
  };
}
