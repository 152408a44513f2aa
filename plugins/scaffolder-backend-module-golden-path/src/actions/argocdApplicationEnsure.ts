import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ActionDeps } from './deps';
import { examples } from './argocdApplicationEnsure.examples';
import { runContext, serviceInputSchema } from './serviceInput';

/**
 * Creates the service's ArgoCD AppProject (its GitOps repository and
 * namespace only) and Application (automated sync). A project or
 * application that another run (or a person) made is refused.
 */
export function createArgocdApplicationEnsureAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:argocd:application:ensure',
    description:
      'Creates the ArgoCD AppProject (one source repository, one namespace) and the Application (automated sync, prune, self-heal). Retries while GitLab and ArgoCD catch up. Rolls back everything the task created if it fails.',
    examples,
    supportsDryRun: true,
    schema: {
      input: serviceInputSchema,
      output: {
        argocdAppUrl: z =>
          z.string().describe('The application in the ArgoCD UI'),
        project: z => z.string().describe('Name of the AppProject'),
        application: z => z.string().describe('Name of the Application'),
      },
    },
    async handler(ctx) {
      const plan = ctx.isDryRun
        ? deps.runs.plan(ctx.input, [])
        : (
            await deps.runs.execute(runContext(ctx), ctx.input, {
              groups: ['argocd'],
              checkOwner: true,
            })
          ).plan;
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create ArgoCD project ${plan.names.argocdProject} and application ${plan.names.argocdApplication}`,
        );
      }
      ctx.output('argocdAppUrl', plan.names.argocdAppUrl);
      ctx.output('project', plan.names.argocdProject);
      ctx.output('application', plan.names.argocdApplication);
    },
  });
}
