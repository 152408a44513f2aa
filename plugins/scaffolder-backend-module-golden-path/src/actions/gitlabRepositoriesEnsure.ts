import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ActionDeps } from './deps';
import { examples } from './gitlabRepositoriesEnsure.examples';
import {
  repositoryContentInputSchema,
  repositoryOutputSchema,
  repositoryOutputs,
  runContext,
  serviceInputSchema,
} from './serviceInput';

/**
 * Creates the app repository (the rendered skeleton) and the platform-owned
 * GitOps repository (rendered manifests), each pushed in one commit, with
 * `main` protected and a GitOps deploy token stored as a masked variable of
 * the app repository.
 */
export function createGitlabRepositoriesEnsureAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:gitlab:repositories:ensure',
    description:
      'Creates the app repository from the workspace and the GitOps repository from rendered manifests, one commit each, main protected, GITOPS_DEPLOY_TOKEN set as a masked variable. Rolls back everything the task created if it fails.',
    examples,
    supportsDryRun: true,
    schema: {
      input: { ...serviceInputSchema, ...repositoryContentInputSchema },
      output: repositoryOutputSchema,
    },
    async handler(ctx) {
      const appFiles = await deps.runs.workspaceFiles(
        ctx.workspacePath,
        ctx.input.sourcePath,
      );
      if (ctx.isDryRun) {
        const plan = deps.runs.plan(ctx.input, appFiles);
        ctx.logger.info(
          `Dry run: would create ${plan.names.appRepoPath} (${plan.app.files.length} files) and ${plan.names.gitopsRepoPath} (${plan.gitops.files.length} files)`,
        );
        repositoryOutputs(plan, ctx.output);
        return;
      }
      const { plan } = await deps.runs.execute(runContext(ctx), ctx.input, {
        groups: ['gitlab'],
        appFiles,
        requireAppFiles: true,
        checkOwner: true,
      });
      repositoryOutputs(plan, ctx.output);
    },
  });
}
