import { ConflictError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deriveNames } from '../render/derive';
import { ActionDeps } from './deps';
import { examples } from './platformNameCheck.examples';

/**
 * Refuses a service name that is taken anywhere — catalog, both GitLab
 * groups, ECR, IAM, ArgoCD, Kubernetes — before anything is created, with
 * one message listing every place it is taken.
 */
export function createPlatformNameCheckAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:platform:name:check',
    description:
      'Checks that a service name is free in the catalog, both GitLab groups, ECR, IAM, ArgoCD and Kubernetes. Fails listing every place it is taken. Run it before any step that creates something.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z => z.string().describe('The service name to check'),
      },
      output: {
        free: z => z.boolean().describe('True when the name is free everywhere'),
      },
    },
    async handler(ctx) {
      const names = deriveNames(deps.settings, ctx.input.name);
      if (ctx.isDryRun) {
        ctx.output('free', true);
        return;
      }
      // Checkpointed: a task replayed after a crash must not find its own
      // resources and call the name taken. Inside the task's saga so a
      // failure here reports (and, in custom templates, undoes) like any other.
      const journal = deps.journals.forTask(ctx.task.id);
      await journal.run(ctx.logger, () => ctx.checkpoint({
        key: `check.name.${ctx.input.name}`,
        fn: async () => {
          const checks: Array<[string, () => Promise<boolean>]> = [
            [`catalog entity ${names.namespace}`, async () => (await deps.catalog.findEntitiesNamed(ctx.input.name)).length > 0],
            [`GitLab project ${names.appRepoPath}`, async () => !!(await deps.gitlab.findProject(names.appRepoPath))],
            [`GitLab project ${names.gitopsRepoPath}`, async () => !!(await deps.gitlab.findProject(names.gitopsRepoPath))],
            [`ECR repository ${names.ecrRepository}`, async () => !!(await deps.aws.findRepository(names.ecrRepository))],
            [`IAM policy ${names.iamPolicyName}`, async () => !!(await deps.aws.findPolicy(names.iamPolicyName))],
            [`ArgoCD project ${names.argocdProject}`, async () => !!(await deps.argocd.getProject(names.argocdProject))],
            [`ArgoCD application ${names.argocdApplication}`, async () => !!(await deps.argocd.getApplication(names.argocdApplication))],
            [`Kubernetes namespace ${names.namespace}`, () => deps.kubernetes.namespaceExists(names.namespace)],
          ];
          // All lookups at once: they are independent and read-only.
          const results = await Promise.all(checks.map(([, check]) => check()));
          const taken = checks.filter((_, i) => results[i]).map(([place]) => place);
          if (taken.length) {
            throw new ConflictError(
              `Service name "${ctx.input.name}" is already taken: ${taken.join(', ')}. Choose another name.`,
            );
          }
          return true;
        },
      }));
      ctx.logger.info(`Service name "${ctx.input.name}" is free everywhere`);
      ctx.output('free', true);
    },
  });
}
