import { InputError } from '@backstage/errors';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import {
  EcrLifecyclePolicy,
  renderEcrLifecyclePolicy,
} from '@internal/plugin-golden-path-node';
import { isMap, parseDocument } from 'yaml';
import { RenderContext, renderContext } from '../render/context';
import { KubernetesObject } from '../render/context';
import { renderAppProject, renderApplication } from '../render/argocd';
import {
  DatabasePlan,
  planDatabase,
  renderDatabaseNetworkPolicies,
} from '../render/database';
import { GitopsFile, renderGitopsRepository } from '../render/gitops';
import {
  IamPolicyDocument,
  TrustPolicyDocument,
  ciRoleName,
  iamPolicyArn,
  iamRoleArn,
  renderCiTrustPolicy,
  renderEcrPolicy,
  renderPermissionsBoundary,
  renderSecretsPolicy,
  renderSecretsTrustPolicy,
} from '../render/iam';
import { renderServiceRecord } from '../render/record';
import { ServiceInput, assertImageTag } from '../render/input';
import {
  renderLimitRange,
  renderNamespace,
  renderResourceQuota,
  renderRole,
  renderRoleBinding,
  renderSecretStore,
  renderSecretsServiceAccount,
  renderServiceAccount,
} from '../render/kubernetes';
import { VaultAccess, renderVaultAccess, secretsRoleName } from '../render/secrets';
import { renderNetworkPolicies } from '../render/networkPolicies';
import { PlatformSettings } from '../render/types';
import { RepoFile } from './files';

/** Image tag of the GitOps Deployment until the app's first pipeline pushes one. */
export const INITIAL_IMAGE_TAG = 'initial';

/** One thing Create makes, for people (dry run, logs, the README). */
export interface PlannedResource {
  system: 'GitLab' | 'AWS' | 'ArgoCD' | 'Kubernetes' | 'Catalog' | 'Vault' | 'PostgreSQL';
  kind: string;
  name: string;
}

/**
 * Everything one Create does, resolved once at the edge of the action from
 * its input: the validated request, every derived name and URL, the run
 * marker, every rendered object and file. Everything downstream (steps,
 * rollback, dry run) reads the plan and derives nothing again. Plain JSON,
 * so the run's journal can keep it and any replica can finish or undo it.
 */
export interface ServicePlan extends RenderContext {
  version: 1;
  /** The run marker stamped on everything the run creates. */
  marker: string;
  imageTag: string;
  /**
   * Whether CI may push to ECR: through GitLab's ID token and the service's
   * CI role (`ciAuth: oidc`, the default), or an IAM user's static key
   * (`ciAuth: static-key`). See awsSteps.
   */
  ciCredentials: boolean;
  ciAuth: 'oidc' | 'static-key';
  /**
   * Non-secret CI/CD variables of the app project (role ARN, audience,
   * region); secret ones are set by the step that makes them.
   */
  ciVariables: Array<{ key: string; value: string }>;
  catalogInfoUrl: string;
  app: { files: RepoFile[] };
  gitops: { files: RepoFile[] };
  /**
   * The guard rails, applied by the platform only: Namespace,
   * NetworkPolicies, ServiceAccounts, Role, RoleBinding, ResourceQuota,
   * LimitRange, SecretStore.
   */
  namespaceBundle: KubernetesObject[];
  argocd: { project: KubernetesObject; application: KubernetesObject };
  ecr: { repository: string; lifecyclePolicy: EcrLifecyclePolicy };
  iam: {
    /** The ECR push/pull policy of the service's repository. */
    policyName: string;
    policyDocument: IamPolicyDocument;
    /** The CI user (`ciAuth: static-key` only). */
    ciUserName: string;
    /** The CI role (`ciAuth: oidc`) and who may assume it. */
    ciRoleName: string;
    ciTrustPolicy: TrustPolicyDocument;
    /** The shared permissions boundary on every role and user. */
    boundary: { policyName: string; arn: string; document: IamPolicyDocument };
    /** The secret store's role (aws provider only). */
    secrets?: {
      roleName: string;
      policyName: string;
      policyDocument: IamPolicyDocument;
      trustPolicy: TrustPolicyDocument;
    };
  };
  /** The secret store's Vault policy and role (vault provider only). */
  vault?: VaultAccess;
  /**
   * The GitOps write credential: a project access token of the GitOps
   * project only, Developer, `write_repository` only, expiring.
   */
  deployToken: {
    name: string;
    expiresAt: string;
    accessLevel: number;
    scopes: string[];
  };
  /** The service's PostgreSQL role, database and password secret, when asked for. */
  database?: DatabasePlan;
  /** Everything Create makes, in order. */
  resources: PlannedResource[];
}

/** IAM user names allow 64 characters; names are at most 40 (see the name rule). */
export function ciUserName(name: string): string {
  return `idp-${name}-ci`;
}

/**
 * The namespace and its guard rails, applied by the platform directly
 * (never through the GitOps repository, whose AppProject refuses these
 * kinds): the Namespace first, then everything in it.
 */
export function renderNamespaceBundle(ctx: RenderContext): KubernetesObject[] {
  return [
    renderNamespace(ctx),
    ...renderNetworkPolicies(ctx),
    ...renderDatabaseNetworkPolicies(ctx),
    renderServiceAccount(ctx),
    renderSecretsServiceAccount(ctx),
    renderRole(ctx),
    renderRoleBinding(ctx),
    renderResourceQuota(ctx),
    renderLimitRange(ctx),
    renderSecretStore(ctx),
  ];
}

/** Days the GitOps write token lives unless `gitlab.gitopsTokenDays` says otherwise. */
export const DEFAULT_GITOPS_TOKEN_DAYS = 90;

/** Developer: may push to a branch protected for Developers, nothing more. */
export const GITOPS_TOKEN_ACCESS_LEVEL = 30;

function daysAfter(now: Date, days: number): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Adds the run marker to catalog-info.yaml, so the catalog entity (and the
 * location that produced it) carries it like every other resource. Edits the
 * YAML document in place, keeping the author's comments and formatting.
 */
export function stampCatalogInfo(content: string, marker: string): string {
  const doc = parseDocument(content);
  if (doc.errors.length || !isMap(doc.contents)) {
    throw new InputError(
      `catalog-info.yaml of the rendered skeleton is not a YAML mapping: ${
        doc.errors[0]?.message ?? 'unexpected content'
      }`,
    );
  }
  doc.setIn(['metadata', 'annotations', RUN_MARKER_KEY], marker);
  return doc.toString();
}

/** Where the service's catalog-info.yaml lives (the catalog location Create registers). */
export function catalogInfoUrlOf(names: Pick<RenderContext['names'], 'appRepoWebUrl'>): string {
  return `${names.appRepoWebUrl}/-/blob/main/catalog-info.yaml`;
}

/**
 * Resolves an action's input into the plan. Pure: the app's files, the
 * marker and the clock come in as arguments. Throws InputError naming the
 * field for anything invalid.
 */
export function planService(
  settings: PlatformSettings,
  input: ServiceInput & { initialImageTag?: string; ciCredentials?: boolean },
  opts: { appFiles?: RepoFile[]; marker: string; now: Date },
): ServicePlan {
  const ctx = renderContext(settings, input);
  const imageTag = input.initialImageTag ?? INITIAL_IMAGE_TAG;
  assertImageTag(imageTag, 'initialImageTag');
  const { names, request } = ctx;
  const rendered = renderGitopsRepository(ctx, { imageTag });
  // The record of what was rendered, so an upgrade can render it again.
  const gitopsFiles: RepoFile[] = [...rendered, renderServiceRecord(ctx, rendered)].map(
    (f: GitopsFile) => ({ path: f.path, content: f.content, encoding: 'text' }),
  );
  const appFiles = (opts.appFiles ?? []).map(f =>
    f.path === 'catalog-info.yaml'
      ? {
          ...f,
          encoding: 'text' as const,
          content: stampCatalogInfo(
            f.encoding === 'base64'
              ? Buffer.from(f.content, 'base64').toString('utf8')
              : f.content,
            opts.marker,
          ),
        }
      : f,
  );
  const { policyName, document } = renderEcrPolicy(settings, request.name);
  const ciCredentials = input.ciCredentials ?? false;
  const ciAuth = settings.ciAuth ?? 'oidc';
  const boundary = renderPermissionsBoundary(settings);
  const secretsPolicy =
    settings.secrets.provider === 'aws'
      ? renderSecretsPolicy(settings, request.name)
      : undefined;
  const plan: Omit<ServicePlan, 'resources'> = {
    ...ctx,
    version: 1,
    marker: opts.marker,
    imageTag,
    ciCredentials,
    ciAuth,
    ciVariables: ciCredentials
      ? [
          ...(ciAuth === 'oidc'
            ? [
                {
                  key: 'AWS_ROLE_ARN',
                  value: iamRoleArn(settings, ciRoleName(request.name)),
                },
              ]
            : []),
          // The push job's id_tokens:aud reads it in both modes.
          { key: 'AWS_OIDC_AUDIENCE', value: settings.gitlabOidcAudience },
          { key: 'AWS_DEFAULT_REGION', value: settings.awsRegion },
        ]
      : [],
    catalogInfoUrl: catalogInfoUrlOf(names),
    app: { files: appFiles },
    gitops: { files: gitopsFiles },
    namespaceBundle: renderNamespaceBundle(ctx),
    ...(request.database ? { database: planDatabase(ctx) } : {}),
    argocd: {
      project: renderAppProject(ctx),
      application: renderApplication(ctx),
    },
    ecr: {
      repository: names.ecrRepository,
      lifecyclePolicy: renderEcrLifecyclePolicy(),
    },
    iam: {
      policyName,
      policyDocument: document,
      ciUserName: ciUserName(request.name),
      ciRoleName: ciRoleName(request.name),
      ciTrustPolicy: renderCiTrustPolicy(settings, names),
      boundary: {
        policyName: boundary.policyName,
        arn: iamPolicyArn(settings, boundary.policyName),
        document: boundary.document,
      },
      ...(secretsPolicy
        ? {
            secrets: {
              roleName: secretsRoleName(request.name),
              policyName: secretsPolicy.policyName,
              policyDocument: secretsPolicy.document,
              trustPolicy: renderSecretsTrustPolicy(settings, request.name),
            },
          }
        : {}),
    },
    ...(settings.secrets.provider === 'vault'
      ? { vault: renderVaultAccess(settings, request.name) }
      : {}),
    deployToken: {
      name: `${request.name}-ci-update-gitops`,
      expiresAt: daysAfter(
        opts.now,
        settings.gitopsTokenDays ?? DEFAULT_GITOPS_TOKEN_DAYS,
      ),
      accessLevel: GITOPS_TOKEN_ACCESS_LEVEL,
      scopes: ['write_repository'],
    },
  };
  return { ...plan, resources: plannedResources(plan) };
}

function plannedResources(
  plan: Omit<ServicePlan, 'resources'>,
): PlannedResource[] {
  const { names } = plan;
  return [
    { system: 'GitLab', kind: 'project (app repository)', name: names.appRepoPath },
    { system: 'GitLab', kind: 'project (GitOps repository)', name: names.gitopsRepoPath },
    {
      system: 'GitLab',
      kind: `GitOps project access token (Developer, write_repository, expires ${plan.deployToken.expiresAt}) + masked hidden CI/CD variable GITOPS_DEPLOY_TOKEN`,
      name: plan.deployToken.name,
    },
    { system: 'AWS', kind: 'ECR repository', name: plan.ecr.repository },
    { system: 'AWS', kind: 'IAM policy (ECR push/pull)', name: plan.iam.policyName },
    { system: 'AWS', kind: 'IAM permissions boundary (shared; made once)', name: plan.iam.boundary.policyName },
    ...(plan.ciCredentials && plan.ciAuth === 'oidc'
      ? [{ system: 'AWS' as const, kind: 'IAM role for GitLab CI (OIDC, default branch) + CI/CD variable AWS_ROLE_ARN', name: plan.iam.ciRoleName }]
      : []),
    ...(plan.ciCredentials && plan.ciAuth === 'static-key'
      ? [{ system: 'AWS' as const, kind: 'IAM user + access key (masked hidden CI/CD variables)', name: plan.iam.ciUserName }]
      : []),
    ...(plan.iam.secrets
      ? [
          { system: 'AWS' as const, kind: 'IAM policy (read own secrets)', name: plan.iam.secrets.policyName },
          { system: 'AWS' as const, kind: 'IAM role of the SecretStore (EKS IRSA)', name: plan.iam.secrets.roleName },
        ]
      : []),
    ...(plan.vault
      ? [
          { system: 'Vault' as const, kind: 'ACL policy (read own secrets)', name: plan.vault.policyName },
          { system: 'Vault' as const, kind: `Kubernetes auth role (${plan.vault.role.mount})`, name: plan.vault.role.name },
        ]
      : []),
    ...(plan.database
      ? [
          { system: 'PostgreSQL' as const, kind: 'login role', name: plan.database.role },
          { system: 'PostgreSQL' as const, kind: 'database', name: plan.database.name },
          {
            system: plan.database.secretStore === 'vault' ? ('Vault' as const) : ('AWS' as const),
            kind: plan.database.secretStore === 'vault' ? 'KV secret (database password)' : 'Secrets Manager secret (database password)',
            name: plan.database.secretPath,
          },
        ]
      : []),
    { system: 'ArgoCD', kind: 'AppProject', name: names.argocdProject },
    { system: 'ArgoCD', kind: 'Application', name: names.argocdApplication },
    ...plan.namespaceBundle.map(o => ({
      system: 'Kubernetes' as const,
      kind: o.kind,
      name: o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name,
    })),
    { system: 'Catalog', kind: 'location + Component', name: `component:default/${names.namespace}` },
  ];
}

/** The plan as a readable list, for the template editor's dry run and the log. */
export function describePlan(plan: ServicePlan): string {
  const lines = [
    `# What Create would make for ${plan.request.name}`,
    '',
    '| System | What | Name |',
    '| --- | --- | --- |',
    ...plan.resources.map(r => `| ${r.system} | ${r.kind} | ${r.name} |`),
    '',
    `App repository: ${plan.names.appRepoWebUrl} (${plan.app.files.length} files)`,
    `GitOps repository: ${plan.names.gitopsRepoWebUrl} (${plan.gitops.files.length} files)`,
    `Live at: ${plan.names.liveUrl}`,
    '',
  ];
  return lines.join('\n');
}

/** Stamps the run marker (and the service name) on an object's labels. */
export function withMarker<T extends KubernetesObject>(
  object: T,
  marker: string,
): T {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { ...object.metadata.labels, [RUN_MARKER_KEY]: marker },
    },
  };
}
