import { ConflictError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deriveNames } from '../render/derive';
import { ecrRepositoryArn, renderEcrPolicy } from '../render/iam';
import { settleAll } from '../saga';
import {
  ActionDeps,
  StepContext,
  TASK_MARKER_KEY,
  nameTakenError,
  stepContext,
} from './deps';
import { examples } from './awsEcrEnsure.examples';

/** IAM user names allow 64 characters; names are at most 40 (see name.ts). */
export function ciUserName(name: string): string {
  return `idp-${name}-ci`;
}

const markerTags = (step: StepContext, name: string) => ({
  [TASK_MARKER_KEY]: step.taskId,
  'golden-path-idp/service': name,
});

/**
 * The registry step: the ECR repository and the per-app IAM policy, at
 * once. A resource tagged by another task (or untagged) is refused.
 */
export async function ensureRegistry(
  deps: Pick<ActionDeps, 'aws' | 'settings'>,
  step: StepContext,
  name: string,
): Promise<{
  repo: { name: string; arn: string; uri: string };
  policy: { name: string; arn: string };
}> {
  const { aws } = deps;
  const names = deriveNames(deps.settings, name);
  const { policyName, document } = renderEcrPolicy(deps.settings, name);
  const tags = markerTags(step, name);
  const ours = (t: Record<string, string>) =>
    t[TASK_MARKER_KEY] === step.taskId;

  const [repo, policy] = await settleAll([
    step.journal.step({
      name: `ECR repository ${names.ecrRepository}`,
      do: () =>
        step.checkpoint({
          key: `ensure.ecr.${names.ecrRepository}`,
          fn: async () => {
            const existing = await aws.findRepository(names.ecrRepository);
            if (existing && !ours(existing.tags)) {
              throw nameTakenError(name, [
                `ECR repository ${names.ecrRepository}`,
              ]);
            }
            const r =
              existing ??
              (await aws.createRepository(names.ecrRepository, tags));
            step.logger.info(`ECR repository ${r.name} ready`);
            return { name: r.name, arn: r.arn, uri: r.uri };
          },
        }),
      undo: r => aws.deleteRepository(r.name),
    }),
    step.journal.step({
      name: `IAM policy ${policyName}`,
      do: () =>
        step.checkpoint({
          key: `ensure.iam.policy.${policyName}`,
          fn: async () => {
            const existing = await aws.findPolicy(policyName);
            if (existing && !ours(existing.tags)) {
              throw nameTakenError(name, [`IAM policy ${policyName}`]);
            }
            const p =
              existing ?? (await aws.createPolicy(policyName, document, tags));
            step.logger.info(`IAM policy ${p.name} ready`);
            return { name: p.name, arn: p.arn };
          },
        }),
      undo: p => aws.deletePolicy(p.arn),
    }),
  ]);
  return { repo, policy };
}

/**
 * The CI credentials step: an IAM user with the app's policy, whose access
 * key goes only into masked, protected variables of the app repository.
 * Needs the app repository and the policy to exist.
 */
export async function ensureCiCredentials(
  deps: Pick<ActionDeps, 'aws' | 'gitlab' | 'settings'>,
  step: StepContext,
  opts: { name: string; policyArn: string },
): Promise<void> {
  const { aws, gitlab } = deps;
  const names = deriveNames(deps.settings, opts.name);
  const userName = ciUserName(opts.name);
  await step.journal.step({
    name: `IAM user ${userName}`,
    do: () =>
      step.checkpoint({
        key: `ensure.iam.ci-user.${userName}`,
        // User, key and variables are one unit: after a crash in between
        // the secret is gone, so the unit starts over.
        fn: async () => {
          if (await aws.userExists(userName)) await aws.deleteCiUser(userName);
          const key = await aws.createCiUser(
            userName,
            opts.policyArn,
            markerTags(step, opts.name),
          );
          try {
            const app = await gitlab.findProject(names.appRepoPath);
            if (!app) {
              throw new ConflictError(
                `GitLab project ${names.appRepoPath} is missing; create the repositories first`,
              );
            }
            await settleAll([
              gitlab.setVariable(app.id, {
                key: 'AWS_ACCESS_KEY_ID',
                value: key.accessKeyId,
                masked: true,
                protected: true,
              }),
              gitlab.setVariable(app.id, {
                key: 'AWS_SECRET_ACCESS_KEY',
                value: key.secretAccessKey,
                masked: true,
                protected: true,
              }),
            ]);
          } catch (error) {
            // The step is recorded only once it completes, so a user whose
            // key could not be stored is removed here; if that fails too,
            // the original error stays and the user is listed for removal.
            await aws
              .deleteCiUser(userName)
              .catch(cleanup =>
                step.journal.leftover(`IAM user ${userName}`, cleanup),
              );
            throw error;
          }
          step.logger.info(
            `IAM user ${userName} ready; key stored as masked variables of ${names.appRepoPath}`,
          );
          return { userName };
        },
      }),
    undo: u => aws.deleteCiUser(u.userName),
  });
}

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
      const names = deriveNames(deps.settings, ctx.input.name);
      const { policyName } = renderEcrPolicy(deps.settings, ctx.input.name);
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create ECR repository ${names.ecrRepository} and IAM policy ${policyName}`,
        );
        ctx.output(
          'repositoryUri',
          `${deps.settings.ecrRegistry}/${names.ecrRepository}`,
        );
        ctx.output(
          'repositoryArn',
          ecrRepositoryArn(deps.settings, ctx.input.name),
        );
        ctx.output(
          'policyArn',
          `arn:aws:iam::${deps.settings.awsAccountId}:policy/${policyName}`,
        );
        return;
      }
      const step = stepContext(ctx, deps.journals);
      const { repo, policy } = await step.journal.run(ctx.logger, async () => {
        const result = await ensureRegistry(deps, step, ctx.input.name);
        if (ctx.input.ciCredentials) {
          await ensureCiCredentials(deps, step, {
            name: ctx.input.name,
            policyArn: result.policy.arn,
          });
        }
        return result;
      });
      ctx.output('repositoryUri', repo.uri);
      ctx.output('repositoryArn', repo.arn);
      ctx.output('policyArn', policy.arn);
    },
  });
}
