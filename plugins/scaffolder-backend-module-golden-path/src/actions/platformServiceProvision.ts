import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { settleAll } from '../saga';
import { ActionDeps, stepContext } from './deps';
import { serviceInputSchema } from './serviceInput';
import {
  ensureArgoApplication,
  ensureArgoProject,
} from './argocdApplicationEnsure';
import { ensureCiCredentials, ensureRegistry } from './awsEcrEnsure';
import {
  claimAppRepository,
  ensureRepositories,
  prepareRepositoryContent,
  repositoryContentInputSchema,
} from './gitlabRepositoriesEnsure';
import {
  applyNamespaceBundle,
  renderNamespaceBundle,
} from './kubernetesBundleApply';
import { examples } from './platformServiceProvision.examples';

/**
 * Everything a new service gets, as one saga whose independent steps run
 * at the same time:
 *
 *   app repo (claims the name) ─┬─ app push
 *                               ├─ GitOps repo ─┬─ GitOps push ─┐
 *                               │               └─ deploy token │
 *                               ├─ ArgoCD project ──────────────┴─ ArgoCD application
 *                               ├─ ECR + IAM policy ─ CI credentials
 *                               └─ namespace bundle
 *
 * The same steps as the single-system actions, so a failure anywhere rolls
 * back everything the task created, in reverse order.
 */
export function createPlatformServiceProvisionAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:platform:service:provision',
    description:
      'Creates the app and GitOps repositories, the ECR repository and IAM policy (and CI credentials), the ArgoCD project and application, and the namespace bundle, running independent steps in parallel. Rolls back everything the task created if any step fails.',
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
        appRepoUrl: z =>
          z.string().describe('Browser URL of the app repository'),
        pipelinesUrl: z =>
          z.string().describe('Pipelines of the app repository'),
        gitopsRepoUrl: z =>
          z.string().describe('Browser URL of the GitOps repository'),
        catalogInfoUrl: z =>
          z.string().describe('URL of catalog-info.yaml in the app repository'),
        repositoryUri: z =>
          z.string().describe('Image repository URI to push to'),
        argocdAppUrl: z =>
          z.string().describe('The application in the ArgoCD UI'),
        namespace: z =>
          z.string().describe('Kubernetes namespace of the service'),
      },
    },
    async handler(ctx) {
      const { request, names, appFiles, gitopsFiles } =
        await prepareRepositoryContent(
          deps.settings,
          ctx.workspacePath,
          ctx.input,
        );
      const bundle = renderNamespaceBundle(deps.settings, request);
      const ciCredentials = ctx.input.ciCredentials ?? true;

      if (!ctx.isDryRun) {
        const step = stepContext(ctx, deps.journals);
        await step.journal.run(ctx.logger, async () => {
          // The name is claimed first: a concurrent Create of the same name
          // fails here, before it has created anything.
          const app = await claimAppRepository(deps, step, request);
          let gitopsPushed!: () => void;
          let gitopsFailed!: (e: unknown) => void;
          const gitopsReady = new Promise<void>((resolve, reject) => {
            gitopsPushed = resolve;
            gitopsFailed = reject;
          });
          gitopsReady.catch(() => {}); // observed through the repositories branch
          const repositories = ensureRepositories(deps, step, {
            request,
            appFiles,
            gitopsFiles,
            app,
            onGitopsPushed: gitopsPushed,
          });
          repositories.catch(gitopsFailed);
          await settleAll([
            repositories,
            ensureRegistry(deps, step, request.name).then(({ policy }) =>
              ciCredentials
                ? ensureCiCredentials(deps, step, {
                    name: request.name,
                    policyArn: policy.arn,
                  })
                : undefined,
            ),
            // ArgoCD checks the repository when the application is created.
            settleAll([
              ensureArgoProject(deps, step, request),
              gitopsReady,
            ]).then(() => ensureArgoApplication(deps, step, request)),
            applyNamespaceBundle(deps, step, bundle),
          ]);
        });
      } else {
        ctx.logger.info(
          `Dry run: would create ${names.appRepoPath}, ${names.gitopsRepoPath}, ECR repository ${names.ecrRepository}, IAM policy ${names.iamPolicyName}, ArgoCD ${names.argocdProject}/${names.argocdApplication} and namespace ${names.namespace}`,
        );
      }
      ctx.output('appRepoUrl', names.appRepoWebUrl);
      ctx.output('pipelinesUrl', `${names.appRepoWebUrl}/-/pipelines`);
      ctx.output('gitopsRepoUrl', names.gitopsRepoWebUrl);
      ctx.output(
        'catalogInfoUrl',
        `${names.appRepoWebUrl}/-/blob/main/catalog-info.yaml`,
      );
      ctx.output(
        'repositoryUri',
        `${deps.settings.ecrRegistry}/${names.ecrRepository}`,
      );
      ctx.output('argocdAppUrl', names.argocdAppUrl);
      ctx.output('namespace', names.namespace);
    },
  });
}
