import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { writeTree } from '../plan/files';
import { ServicePlan, describePlan } from '../plan/ServicePlan';
import { ActionDeps } from './deps';
import { examples } from './platformServiceProvision.examples';
import {
  repositoryContentInputSchema,
  repositoryOutputSchema,
  repositoryOutputs,
  runContext,
  serviceInputSchema,
} from './serviceInput';

/** Where a dry run puts the plan, so the template editor shows it. */
export const DRY_RUN_PLAN_FILE = 'golden-path-plan.md';
export const DRY_RUN_GITOPS_FOLDER = 'gitops-repository';

/**
 * Everything a new service gets, as one saga whose independent steps run at
 * the same time (see steps/index.ts for the DAG). If any step fails, or the
 * task is cancelled, everything the run made is rolled back.
 */
export function createPlatformServiceProvisionAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:platform:service:provision',
    description:
      'Creates the app and GitOps repositories, the ECR repository and IAM policy (and CI credentials), the ArgoCD project and application, the namespace bundle, and (when asked) a PostgreSQL database with its login role and password secret, running independent steps in parallel. Rolls back everything the task created if any step fails or the task is cancelled.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...serviceInputSchema,
        ...repositoryContentInputSchema,
        ciCredentials: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Create an IAM user for the pipeline, its key stored as masked GitLab variables (default true)',
            ),
      },
      output: {
        ...repositoryOutputSchema,
        repositoryUri: z =>
          z.string().describe('Image repository URI to push to'),
        argocdAppUrl: z =>
          z.string().describe('The application in the ArgoCD UI'),
        namespace: z =>
          z.string().describe('Kubernetes namespace of the service'),
        resources: z =>
          z
            .array(z.string())
            .describe('Everything the run makes, one line per resource'),
      },
    },
    async handler(ctx) {
      const input = { ...ctx.input, ciCredentials: ctx.input.ciCredentials ?? true };
      const appFiles = await deps.runs.workspaceFiles(
        ctx.workspacePath,
        ctx.input.sourcePath,
      );
      let plan: ServicePlan;
      if (ctx.isDryRun) {
        plan = deps.runs.plan(input, appFiles);
        // The template editor shows the workspace: put the plan there.
        await writeTree(
          resolveSafeChildPath(ctx.workspacePath, DRY_RUN_GITOPS_FOLDER),
          plan.gitops.files,
        );
        await writeTree(ctx.workspacePath, [
          { path: DRY_RUN_PLAN_FILE, content: describePlan(plan), encoding: 'text' },
        ]);
        ctx.logger.info(describePlan(plan));
      } else {
        ({ plan } = await deps.runs.execute(runContext(ctx), input, {
          groups: ['gitlab', 'aws', 'argocd', 'kubernetes', 'database'],
          appFiles,
          requireAppFiles: true,
          checkOwner: true,
        }));
      }
      repositoryOutputs(plan, ctx.output);
      ctx.output('repositoryUri', `${plan.settings.ecrRegistry}/${plan.ecr.repository}`);
      ctx.output('argocdAppUrl', plan.names.argocdAppUrl);
      ctx.output('namespace', plan.names.namespace);
      ctx.output(
        'resources',
        plan.resources.map(r => `${r.system} ${r.kind}: ${r.name}`),
      );
    },
  });
}
