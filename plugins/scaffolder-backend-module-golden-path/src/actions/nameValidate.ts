import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { SERVICE_NAME_PATTERN, serviceNameProblem } from '../render/name';
import { examples } from './nameValidate.examples';

/**
 * Checks a proposed service name against the golden-path name rule and
 * outputs the names derived from it.
 */
export function createNameValidateAction() {
  return createTemplateAction({
    id: 'idp:name:validate',
    description:
      'Checks a service name against the golden-path naming rule and outputs the names derived from it.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z =>
          z
            .string()
            .describe(
              `The service name; must match ${SERVICE_NAME_PATTERN}.`,
            ),
      },
      output: {
        appRepository: z => z.string().describe('GitLab project path of the app repository'),
        gitopsRepository: z => z.string().describe('GitLab project path of the GitOps repository'),
        namespace: z => z.string().describe('Kubernetes namespace of the service'),
      },
    },
    async handler(ctx) {
      const problem = serviceNameProblem(ctx.input.name, 'name');
      if (problem) throw new InputError(problem);
      const { name } = ctx.input;
      ctx.output('appRepository', name);
      ctx.output('gitopsRepository', `${name}-gitops`);
      ctx.output('namespace', name);
    },
  });
}
