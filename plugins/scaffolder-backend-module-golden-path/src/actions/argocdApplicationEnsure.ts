import { renderContext } from '../render/context';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { renderAppProject, renderApplication } from '../render/argocd';
import { deriveNames } from '../render/derive';
import { ServiceInput } from '../render/input';
import {
  ActionDeps,
  StepContext,
  TASK_MARKER_KEY,
  nameTakenError,
  stepContext,
} from './deps';
import { serviceInputSchema, toServiceRequest } from './serviceInput';
import { examples } from './argocdApplicationEnsure.examples';

/**
 * Creates the service's ArgoCD AppProject (its GitOps repository and
 * namespace only) and Application (automated sync). Identical existing
 * objects are accepted; different ones fail unless `update` is set.
 */
export function createArgocdApplicationEnsureAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:argocd:application:ensure',
    description:
      'Creates the ArgoCD AppProject (one source repository, one namespace) and the Application (automated sync, prune, self-heal). Retries while GitLab and ArgoCD catch up. Rolls back everything the task created if it fails.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...serviceInputSchema,
        update: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Overwrite an existing project/application that differs (default false: fail instead)',
            ),
      },
      output: {
        argocdAppUrl: z =>
          z.string().describe('The application in the ArgoCD UI'),
        project: z => z.string().describe('Name of the AppProject'),
        application: z => z.string().describe('Name of the Application'),
      },
    },
    async handler(ctx) {
      const request = toServiceRequest(ctx.input);
      const project = renderAppProject(renderContext(deps.settings, request));
      const application = renderApplication(renderContext(deps.settings, request));
      const names = deriveNames(deps.settings, ctx.input.name);
      const outputs = () => {
        ctx.output('argocdAppUrl', names.argocdAppUrl);
        ctx.output('project', project.metadata.name);
        ctx.output('application', application.metadata.name);
      };
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create ArgoCD project ${project.metadata.name} and application ${application.metadata.name}`,
        );
        outputs();
        return;
      }
      const step = stepContext(ctx, deps.journals);
      const update = ctx.input.update ?? false;
      await step.journal.run(ctx.logger, async () => {
        await ensureArgoProject(deps, step, request, update);
        await ensureArgoApplication(deps, step, request, update);
      });
      outputs();
    },
  });
}

/** The ArgoCD project step: the service's AppProject. */
export async function ensureArgoProject(
  deps: Pick<ActionDeps, 'argocd' | 'settings'>,
  step: StepContext,
  request: ServiceInput,
  update = false,
): Promise<string> {
  const project = withTaskMarker(
    renderAppProject(renderContext(deps.settings, request)),
    step.taskId,
  );
  return step.journal.step({
    name: `ArgoCD project ${project.metadata.name}`,
    do: () =>
      step.checkpoint({
        key: `ensure.argocd.project.${project.metadata.name}`,
        fn: async () => {
          await assertOurs(
            await deps.argocd.getProject(project.metadata.name),
            step,
            `ArgoCD project ${project.metadata.name}`,
            request.name,
          );
          const outcome = await deps.argocd.ensureProject(project, { update });
          step.logger.info(
            `ArgoCD project ${project.metadata.name} ${outcome}`,
          );
          return project.metadata.name;
        },
      }),
    undo: name => deps.argocd.deleteProject(name),
  });
}

/**
 * The ArgoCD application step. Needs the project and the GitOps repository
 * (the client retries while ArgoCD cannot see the repository yet).
 */
export async function ensureArgoApplication(
  deps: Pick<ActionDeps, 'argocd' | 'settings'>,
  step: StepContext,
  request: ServiceInput,
  update = false,
): Promise<string> {
  const application = withTaskMarker(
    renderApplication(renderContext(deps.settings, request)),
    step.taskId,
  );
  return step.journal.step({
    name: `ArgoCD application ${application.metadata.name}`,
    do: () =>
      step.checkpoint({
        key: `ensure.argocd.application.${application.metadata.name}`,
        fn: async () => {
          await assertOurs(
            await deps.argocd.getApplication(application.metadata.name),
            step,
            `ArgoCD application ${application.metadata.name}`,
            request.name,
          );
          const outcome = await deps.argocd.ensureApplication(application, {
            update,
          });
          step.logger.info(
            `ArgoCD application ${application.metadata.name} ${outcome}`,
          );
          return application.metadata.name;
        },
      }),
    undo: name => deps.argocd.deleteApplication(name),
  });
}

/** Labels an ArgoCD object with the task that makes it. */
function withTaskMarker<
  T extends { metadata: { labels?: Record<string, string> } },
>(object: T, taskId: string): T {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { ...object.metadata.labels, [TASK_MARKER_KEY]: taskId },
    },
  };
}

/**
 * Refuses an existing ArgoCD object made by another task (or by hand): the
 * saga would otherwise adopt it and delete it on rollback.
 */
async function assertOurs(
  existing: Record<string, any> | undefined,
  step: StepContext,
  what: string,
  serviceName: string,
) {
  if (
    existing &&
    existing.metadata?.labels?.[TASK_MARKER_KEY] !== step.taskId
  ) {
    throw nameTakenError(serviceName, [what]);
  }
}
