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
import { GitopsFile, renderGitopsRepository } from '../render/gitops';
import { IamPolicyDocument, renderEcrPolicy } from '../render/iam';
import { renderServiceRecord } from '../render/record';
import { ServiceInput, assertImageTag } from '../render/input';
import {
  renderNamespace,
  renderRole,
  renderRoleBinding,
  renderServiceAccount,
} from '../render/kubernetes';
import { renderNetworkPolicies } from '../render/networkPolicies';
import { PlatformSettings } from '../render/types';
import { RepoFile } from './files';

/** Image tag of the GitOps Deployment until the app's first pipeline pushes one. */
export const INITIAL_IMAGE_TAG = 'initial';

/** One thing Create makes, for people (dry run, logs, the README). */
export interface PlannedResource {
  system: 'GitLab' | 'AWS' | 'ArgoCD' | 'Kubernetes' | 'Catalog';
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
  /** Whether CI gets an IAM user and a static key (see awsSteps). */
  ciCredentials: boolean;
  catalogInfoUrl: string;
  app: { files: RepoFile[] };
  gitops: { files: RepoFile[] };
  /** Namespace, NetworkPolicies, ServiceAccount, Role, RoleBinding. */
  namespaceBundle: KubernetesObject[];
  argocd: { project: KubernetesObject; application: KubernetesObject };
  ecr: { repository: string; lifecyclePolicy: EcrLifecyclePolicy };
  iam: { policyName: string; policyDocument: IamPolicyDocument; ciUserName: string };
  deployToken: { name: string; expiresAt: string };
  /** Everything Create makes, in order. */
  resources: PlannedResource[];
}

/** IAM user names allow 64 characters; names are at most 40 (see the name rule). */
export function ciUserName(name: string): string {
  return `idp-${name}-ci`;
}

/** The Namespace + NetworkPolicy + RBAC bundle, applied directly (not only through ArgoCD). */
export function renderNamespaceBundle(ctx: RenderContext): KubernetesObject[] {
  return [
    renderNamespace(ctx),
    ...renderNetworkPolicies(ctx),
    renderServiceAccount(ctx),
    renderRole(ctx),
    renderRoleBinding(ctx),
  ];
}

function oneYearAfter(now: Date): string {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
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
  const plan: Omit<ServicePlan, 'resources'> = {
    ...ctx,
    version: 1,
    marker: opts.marker,
    imageTag,
    ciCredentials,
    catalogInfoUrl: `${names.appRepoWebUrl}/-/blob/main/catalog-info.yaml`,
    app: { files: appFiles },
    gitops: { files: gitopsFiles },
    namespaceBundle: renderNamespaceBundle(ctx),
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
    },
    deployToken: {
      name: `${request.name}-ci-update-gitops`,
      expiresAt: oneYearAfter(opts.now),
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
    { system: 'GitLab', kind: 'project access token + CI/CD variable GITOPS_DEPLOY_TOKEN', name: plan.deployToken.name },
    { system: 'AWS', kind: 'ECR repository', name: plan.ecr.repository },
    { system: 'AWS', kind: 'IAM policy', name: plan.iam.policyName },
    ...(plan.ciCredentials
      ? [{ system: 'AWS' as const, kind: 'IAM user + access key (CI/CD variables)', name: plan.iam.ciUserName }]
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
