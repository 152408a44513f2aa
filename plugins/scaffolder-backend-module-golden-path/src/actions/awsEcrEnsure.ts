import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ecrRepositoryArn } from '../render/iam';
import { ActionDeps } from './deps';
import { examples } from './awsEcrEnsure.examples';
import { runContext } from './serviceInput';

/**
 * Creates the service's ECR repository and its per-app IAM policy (push and
 * pull on that repository only). With `ciCredentials`, also an IAM user with
 * that policy whose access key goes only into masked, protected GitLab
 * variables of the app repository.
 */
export function createAwsEcrEnsureAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:aws:ecr:ensure',
    description:
      'Creates the ECR repository (immutable tags, scan on push, encryption, keep last 30 images) and the per-app IAM policy; optionally a CI user whose key is stored only as masked GitLab variables. Rolls back everything the task created if it fails.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z =>
          z
            .string()
            .describe('Service name (the golden-path name rule applies)'),
        ciCredentials: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Create an IAM user for the pipeline and store its key as masked GitLab variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default false: the runner has its own role)',
            ),
      },
      output: {
        repositoryUri: z =>
          z.string().describe('Image repository URI to push to'),
        repositoryArn: z => z.string().describe('ARN of the ECR repository'),
        policyArn: z => z.string().describe('ARN of the per-app IAM policy'),
      },
    },
    async handler(ctx) {
      const input = {
        name: ctx.input.name,
        owner: '',
        ciCredentials: ctx.input.ciCredentials ?? false,
      };
      const plan = ctx.isDryRun
        ? deps.runs.plan(input, [])
        : (await deps.runs.execute(runContext(ctx), input, { groups: ['aws'] }))
            .plan;
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create ECR repository ${plan.ecr.repository} and IAM policy ${plan.iam.policyName}`,
        );
      }
      ctx.output('repositoryUri', `${plan.settings.ecrRegistry}/${plan.ecr.repository}`);
      ctx.output('repositoryArn', ecrRepositoryArn(plan.settings, plan.request.name));
      ctx.output(
        'policyArn',
        `arn:aws:iam::${plan.settings.awsAccountId}:policy/${plan.iam.policyName}`,
      );
    },
  });
}
