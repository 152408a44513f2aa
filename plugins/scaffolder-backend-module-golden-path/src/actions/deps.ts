import { ConflictError } from '@backstage/errors';
import { PlatformSettings } from '../render/types';
import { LoggerService } from '@backstage/backend-plugin-api';
import { JsonValue } from '@backstage/types';
import { SagaJournal, SagaJournals } from '../saga';
import {
  ArgoCdApi,
  AwsRegistryApi,
  GitLabApi,
  KubernetesApi,
} from '@internal/plugin-golden-path-node';
import { CatalogApi } from '@internal/plugin-golden-path-node';

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

/**
 * The one duplicate-name message, whether the name check finds the name
 * taken or a concurrent Create wins the race to create a resource.
 */
export function nameTakenError(name: string, places: string[]): ConflictError {
  return new ConflictError(
    `Service name "${name}" is already taken: ${places.join(
      ', ',
    )}. Choose another name.`,
  );
}

/** What a step needs from the running scaffolder task. */
export interface StepContext {
  logger: LoggerService;
  taskId: string;
  checkpoint: <T extends JsonValue | void>(opts: {
    key: string;
    fn: () => Promise<T> | T;
  }) => Promise<T>;
  journal: SagaJournal;
}

/** The step context of an action's scaffolder context. */
export function stepContext(
  ctx: {
    logger: LoggerService;
    task: { id: string };
    checkpoint: StepContext['checkpoint'];
  },
  journals: SagaJournals,
): StepContext {
  return {
    logger: ctx.logger,
    taskId: ctx.task.id,
    checkpoint: opts => ctx.checkpoint(opts),
    journal: journals.forTask(ctx.task.id),
  };
}
