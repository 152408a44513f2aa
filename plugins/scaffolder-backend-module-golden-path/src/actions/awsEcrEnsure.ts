import { ConflictError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deriveNames } from '../render/derive';
import { ecrRepositoryArn, renderEcrPolicy } from '../render/iam';
import { ActionDeps, TASK_MARKER_KEY } from './deps';
import { examples } from './awsEcrEnsure.examples';

/** IAM user names allow 64 characters; names are at most 40 (see name.ts). */
export function ciUserName(name: string): string {
  return `idp-${name}-ci`;
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
        name: z => z.string().describe('Service name (the golden-path name rule applies)'),
        ciCredentials: z =>
          z
            .boolean()
            .optional()
            .describe('Create an IAM user for the pipeline and store its key as masked GitLab variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default false: the runner has its own role)'),
      },
      output: {
        repositoryUri: z => z.string().describe('Image repository URI to push to'),
        repositoryArn: z => z.string().describe('ARN of the ECR repository'),
        policyArn: z => z.string().describe('ARN of the per-app IAM policy'),
      },
    },
    async handler(ctx) {
      const names = deriveNames(deps.settings, ctx.input.name);
      const { policyName, document } = renderEcrPolicy(deps.settings, ctx.input.name);
      const { awsAccountId: account, ecrRegistry } = deps.settings;
      const repositoryArn = ecrRepositoryArn(deps.settings, ctx.input.name);
      const policyArn = `arn:aws:iam::${account}:policy/${policyName}`;
      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would create ECR repository ${names.ecrRepository} and IAM policy ${policyName}`);
        ctx.output('repositoryUri', `${ecrRegistry}/${names.ecrRepository}`);
        ctx.output('repositoryArn', repositoryArn);
        ctx.output('policyArn', policyArn);
        return;
      }

      const { aws, gitlab } = deps;
      const tags = { [TASK_MARKER_KEY]: ctx.task.id, 'golden-path-idp/service': ctx.input.name };
      const ours = (t: Record<string, string>) => t[TASK_MARKER_KEY] === ctx.task.id;
      const journal = deps.journals.forTask(ctx.task.id);

      const result = await journal.run(ctx.logger, async () => {
        const repo = await journal.step({
          name: `ECR repository ${names.ecrRepository}`,
          do: () =>
            ctx.checkpoint({
              key: `ensure.ecr.${names.ecrRepository}`,
              fn: async () => {
                const existing = await aws.findRepository(names.ecrRepository);
                if (existing && !ours(existing.tags)) {
                  throw new ConflictError(`ECR repository ${names.ecrRepository} already exists`);
                }
                const r = existing ?? (await aws.createRepository(names.ecrRepository, tags));
                ctx.logger.info(`ECR repository ${r.name} ready`);
                return { name: r.name, arn: r.arn, uri: r.uri };
              },
            }),
          undo: r => aws.deleteRepository(r.name),
        });

        const policy = await journal.step({
          name: `IAM policy ${policyName}`,
          do: () =>
            ctx.checkpoint({
              key: `ensure.iam.policy.${policyName}`,
              fn: async () => {
                const existing = await aws.findPolicy(policyName);
                if (existing && !ours(existing.tags)) {
                  throw new ConflictError(`IAM policy ${policyName} already exists`);
                }
                const p = existing ?? (await aws.createPolicy(policyName, document, tags));
                ctx.logger.info(`IAM policy ${p.name} ready`);
                return { name: p.name, arn: p.arn };
              },
            }),
          undo: p => aws.deletePolicy(p.arn),
        });

        if (ctx.input.ciCredentials) {
          const userName = ciUserName(ctx.input.name);
          await journal.step({
            name: `IAM user ${userName}`,
            do: () =>
              ctx.checkpoint({
                key: `ensure.iam.ci-user.${userName}`,
                // User, key and variables form one unit: after a crash in
                // between, the secret is gone, so the unit starts over.
                fn: async () => {
                  if (await aws.userExists(userName)) await aws.deleteCiUser(userName);
                  const key = await aws.createCiUser(userName, policy.arn, tags);
                  try {
                    const app = await gitlab.findProject(names.appRepoPath);
                    if (!app) throw new ConflictError(`GitLab project ${names.appRepoPath} is missing; create the repositories first`);
                    for (const [k, value] of [
                      ['AWS_ACCESS_KEY_ID', key.accessKeyId],
                      ['AWS_SECRET_ACCESS_KEY', key.secretAccessKey],
                    ]) {
                      await gitlab.setVariable(app.id, { key: k, value, masked: true, protected: true });
                    }
                  } catch (error) {
                    // The step is not recorded until it completes, so a user
                    // whose key could not be stored is removed here.
                    await aws.deleteCiUser(userName);
                    throw error;
                  }
                  ctx.logger.info(`IAM user ${userName} ready; key stored as masked variables of ${names.appRepoPath}`);
                  return { userName };
                },
              }),
            undo: u => aws.deleteCiUser(u.userName),
          });
        }
        return { repo, policy };
      });
      ctx.output('repositoryUri', result.repo.uri);
      ctx.output('repositoryArn', result.repo.arn);
      ctx.output('policyArn', result.policy.arn);
    },
  });
}
