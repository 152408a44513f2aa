import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deriveNames } from '../render/derive';
import { ActionDeps, StepContext, nameTakenError, stepContext } from './deps';
import { ciUserName } from './awsEcrEnsure';
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
        free: z =>
          z.boolean().describe('True when the name is free everywhere'),
      },
    },
    async handler(ctx) {
      // Validates the name (InputError naming the rule) before anything else.
      deriveNames(deps.settings, ctx.input.name);
      if (ctx.isDryRun) {
        ctx.output('free', true);
        return;
      }
      const step = stepContext(ctx, deps.journals);
      await step.journal.run(ctx.logger, () =>
        checkNameFree(deps, step, ctx.input.name),
      );
      ctx.logger.info(`Service name "${ctx.input.name}" is free everywhere`);
      ctx.output('free', true);
    },
  });
}

/**
 * The name check: every place a name can be taken, looked up at once.
 * Checkpointed, so a task replayed after a crash does not find its own
 * resources and call the name taken.
 */
export async function checkNameFree(
  deps: Omit<ActionDeps, 'journals'>,
  step: StepContext,
  name: string,
): Promise<void> {
  const names = deriveNames(deps.settings, name);
  await step.checkpoint({
    key: `check.name.${name}`,
    fn: async () => {
      const checks: Array<[string, () => Promise<boolean>]> = [
        [
          `catalog entity ${names.namespace}`,
          async () => (await deps.catalog.findEntitiesNamed(name)).length > 0,
        ],
        [
          `GitLab project ${names.appRepoPath}`,
          async () => !!(await deps.gitlab.findProject(names.appRepoPath)),
        ],
        [
          `GitLab project ${names.gitopsRepoPath}`,
          async () => !!(await deps.gitlab.findProject(names.gitopsRepoPath)),
        ],
        [
          `ECR repository ${names.ecrRepository}`,
          async () => !!(await deps.aws.findRepository(names.ecrRepository)),
        ],
        [
          `IAM policy ${names.iamPolicyName}`,
          async () => !!(await deps.aws.findPolicy(names.iamPolicyName)),
        ],
        [
          `IAM user ${ciUserName(name)}`,
          () => deps.aws.userExists(ciUserName(name)),
        ],
        [
          `ArgoCD project ${names.argocdProject}`,
          async () => !!(await deps.argocd.getProject(names.argocdProject)),
        ],
        [
          `ArgoCD application ${names.argocdApplication}`,
          async () =>
            !!(await deps.argocd.getApplication(names.argocdApplication)),
        ],
        [
          `Kubernetes namespace ${names.namespace}`,
          () => deps.kubernetes.namespaceExists(names.namespace),
        ],
      ];
      // All lookups at once: they are independent and read-only.
      const results = await Promise.all(checks.map(([, check]) => check()));
      const taken = checks.filter((_, i) => results[i]).map(([place]) => place);
      if (taken.length) throw nameTakenError(name, taken);
      return true;
    },
  });
}
