import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { PlatformSettings } from '../render/types';
import { SERVICE_NAME_PATTERN } from '@internal/plugin-golden-path-common';
import { deriveNames } from '../render/derive';
import { examples } from './platformNameValidate.examples';

/**
 * Checks a service name against the golden-path rule (pure, no calls) and
 * outputs every name and URL derived from it.
 */
export function createPlatformNameValidateAction(opts: {
  settings: PlatformSettings;
}) {
  return createTemplateAction({
    id: 'idp:platform:name:validate',
    description:
      'Checks a service name against the golden-path naming rule and outputs the names and URLs derived from it. Makes no external calls.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z =>
          z
            .string()
            .describe(`The service name; must match ${SERVICE_NAME_PATTERN}.`),
      },
      output: {
        appRepoPath: z =>
          z.string().describe('GitLab project path of the app repository'),
        gitopsRepoPath: z =>
          z.string().describe('GitLab project path of the GitOps repository'),
        namespace: z =>
          z.string().describe('Kubernetes namespace of the service'),
        ecrRepository: z => z.string().describe('ECR repository name'),
        appRepoUrl: z =>
          z.string().describe('Browser URL of the app repository'),
        pipelinesUrl: z =>
          z.string().describe('Browser URL of the app repository pipelines'),
        gitopsRepoUrl: z =>
          z.string().describe('Browser URL of the GitOps repository'),
        argocdAppUrl: z =>
          z.string().describe('The application in the ArgoCD UI'),
        liveUrl: z => z.string().describe('Where the service will be served'),
      },
    },
    async handler(ctx) {
      // deriveNames throws InputError naming the field and the rule.
      const names = deriveNames(opts.settings, ctx.input.name);
      ctx.output('appRepoPath', names.appRepoPath);
      ctx.output('gitopsRepoPath', names.gitopsRepoPath);
      ctx.output('namespace', names.namespace);
      ctx.output('ecrRepository', names.ecrRepository);
      ctx.output('appRepoUrl', names.appRepoWebUrl);
      ctx.output('pipelinesUrl', `${names.appRepoWebUrl}/-/pipelines`);
      ctx.output('gitopsRepoUrl', names.gitopsRepoWebUrl);
      ctx.output('argocdAppUrl', names.argocdAppUrl);
      ctx.output('liveUrl', names.liveUrl);
    },
  });
}
