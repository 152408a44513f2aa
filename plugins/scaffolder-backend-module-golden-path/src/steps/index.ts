import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  ArgoCdApi,
  AwsRegistryApi,
  CatalogApi,
  GitLabApi,
  KubernetesApi,
} from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';
import { argocdSteps } from './argocd';
import { awsSteps } from './aws';
import { catalogSteps } from './catalog';
import { gitlabSteps } from './gitlab';
import { kubernetesSteps } from './kubernetes';

/** The clients the steps act through. */
export interface StepClients {
  gitlab: GitLabApi;
  aws: AwsRegistryApi;
  argocd: ArgoCdApi;
  kubernetes: KubernetesApi;
  catalog: CatalogApi;
}

/** Which systems' steps an action runs. */
export type StepGroup = 'gitlab' | 'aws' | 'argocd' | 'kubernetes' | 'catalog';

/**
 * Every step a Create makes, as one DAG:
 *
 *   app project ─── app push        ECR repository     namespace bundle
 *        └──────────┐               IAM policy ─┐
 *   GitOps project ─┴─ deploy token             └─ CI user (needs app project)
 *        └─ GitOps push ─┐
 *   ArgoCD project ──────┴─ ArgoCD application          catalog location
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
    gitlab: () => gitlabSteps(clients.gitlab, plan),
    aws: () => awsSteps(clients.aws, clients.gitlab, plan),
    argocd: () => argocdSteps(clients.argocd, plan),
    kubernetes: () => kubernetesSteps(clients.kubernetes, plan),
    catalog: () => catalogSteps(clients.catalog, plan),
  };
  const groups = opts.groups ?? (Object.keys(all) as StepGroup[]);
  return groups.flatMap(g => all[g]());
}
