import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  ArgoCdApi,
  AwsRegistryApi,
  CatalogApi,
  DatabaseClients,
  GitLabApi,
  KubernetesApi,
} from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';
import { argocdSteps } from './argocd';
import { awsSteps } from './aws';
import { catalogSteps } from './catalog';
import { databaseSteps } from './database';
import { gitlabSteps } from './gitlab';
import { kubernetesSteps } from './kubernetes';
import { ArgoCdWebhookTarget, webhookSteps } from './webhook';

/** The clients the steps act through. */
export interface StepClients {
  gitlab: GitLabApi;
  aws: AwsRegistryApi;
  argocd: ArgoCdApi;
  kubernetes: KubernetesApi;
  catalog: CatalogApi;
  /** The platform's PostgreSQL and the store of its passwords; none: no database option. */
  database?: DatabaseClients;
  /** The GitOps repositories' push webhook to ArgoCD; none: ArgoCD polls. */
  argocdWebhook?: ArgoCdWebhookTarget;
}

/** Which systems' steps an action runs. */
export type StepGroup =
  | 'gitlab'
  | 'aws'
  | 'argocd'
  | 'kubernetes'
  | 'catalog'
  | 'database';

/**
 * Every step a Create makes, as one DAG:
 *
 *   app project ─── app push        ECR repository     namespace bundle
 *        └──────────┐               IAM policy ─┐
 *   GitOps project ─┴─ deploy token             └─ CI user (needs app project)
 *        ├─ push webhook to ArgoCD (unless goldenPath.argocd.webhook: false)
 *        └─ GitOps push ─┐
 *   ArgoCD project ──────┴─ ArgoCD application          catalog location
 *
 *   PostgreSQL role ── database ── password secret   (only with a database)
 *
 * The name is claimed in the run journal before any of it starts, so no
 * step has to go first.
 */
export function serviceSteps(
  clients: StepClients,
  plan: ServicePlan,
  opts: {
    groups?: StepGroup[];
    credentials?: () => Promise<BackstageCredentials>;
  } = {},
): SagaStep<ServicePlan>[] {
  const all: Record<StepGroup, () => SagaStep<ServicePlan>[]> = {
    gitlab: () => [
      ...gitlabSteps(clients.gitlab, plan),
      ...(clients.argocdWebhook
        ? webhookSteps(clients.gitlab, clients.argocdWebhook, plan)
        : []),
    ],
    aws: () => awsSteps(clients.aws, clients.gitlab, plan),
    argocd: () => argocdSteps(clients.argocd, plan),
    kubernetes: () => kubernetesSteps(clients.kubernetes, plan),
    catalog: () => catalogSteps(clients.catalog, plan),
    // Nothing unless the request asks for a database.
    database: () => databaseSteps(clients.database, plan),
  };
  const groups = opts.groups ?? (Object.keys(all) as StepGroup[]);
  return groups.flatMap(g => all[g]());
}
