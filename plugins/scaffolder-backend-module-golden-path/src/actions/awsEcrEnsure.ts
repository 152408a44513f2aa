import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ecrRepositoryArn } from '../render/iam';
import { ActionDeps } from './deps';
import { examples } from './awsEcrEnsure.examples';
import { runContext } from './serviceInput';

/**
 * Creates the service's ECR repository and its per-app IAM policy (push and
 * pull on that repository only), the shared permissions boundary if it is
 * missing, and the secret store's role. With `ciCredentials`, CI's way into
 * ECR: by default an IAM role that only GitLab's ID token for the app
 * project's default branch can assume (`AWS_ROLE_ARN`, no key anywhere);
 * with `goldenPath.aws.ciAuth: static-key`, an IAM user whose access key
 * goes only into masked, hidden, protected GitLab variables.
 */
export function createAwsEcrEnsureAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:aws:ecr:ensure',
    description:
      'Creates the ECR repository (immutable tags, scan on push, encryption, keep last 30 images), the per-app IAM policy and the SecretStore role; optionally CI access: a role for GitLab OIDC (default) or, with ciAuth static-key, a user whose key is stored only as masked, hidden GitLab variables. Everything behind the permissions boundary. Rolls back everything the task created if it fails.',
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
              'Let the pipeline push to ECR: an IAM role its GitLab ID token assumes (variable AWS_ROLE_ARN), or with goldenPath.aws.ciAuth static-key an IAM user whose key goes into masked, hidden variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default false: the runner has its own role)',
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
