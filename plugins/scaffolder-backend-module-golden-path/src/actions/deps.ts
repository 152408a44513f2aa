import { PlatformSettings } from '../render/types';
import { SagaJournals } from '../saga';
import {
  ArgoCdApi,
  AwsRegistryApi,
  GitLabApi,
  KubernetesApi,
} from '../clients/types';
import { CatalogApi } from '../clients/CatalogGateway';

/** Everything an action needs, built once by module.ts and injected. */
export interface ActionDeps {
  settings: PlatformSettings;
  gitlab: GitLabApi;
  aws: AwsRegistryApi;
  argocd: ArgoCdApi;
  kubernetes: KubernetesApi;
  catalog: CatalogApi;
  journals: SagaJournals;
}

/**
 * Marks resources with the scaffolder task that made them. An ensure that
 * finds a resource with another task's marker (or none) refuses it with
 * ConflictError, so two Creates of one name can never both succeed, and a
 * task replayed after a crash adopts exactly what it made itself.
 */
export const TASK_MARKER_KEY = 'golden-path-idp/task';

/** GitLab topics cannot contain "/"; same meaning as TASK_MARKER_KEY. */
export function taskTopic(taskId: string): string {
  return `golden-path-idp-task-${taskId}`;
}
