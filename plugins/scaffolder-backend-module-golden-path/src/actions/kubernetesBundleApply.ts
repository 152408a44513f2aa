import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ActionDeps } from './deps';
import { examples } from './kubernetesBundleApply.examples';
import { runContext, serviceInputSchema } from './serviceInput';

/** Creates the Namespace and server-side applies its NetworkPolicies and RBAC. */
export function createKubernetesBundleApplyAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:kubernetes:bundle:apply',
    description:
      "Creates the service's Namespace (refusing an existing one) and server-side applies its NetworkPolicies (default deny and the allowed flows), ServiceAccount, read-only Role and RoleBinding. Rolls back everything the task created if it fails.",
    examples,
    supportsDryRun: true,
    schema: {
      input: serviceInputSchema,
      output: {
        namespace: z => z.string().describe('The namespace of the service'),
        objects: z =>
          z.array(z.string()).describe('kind/name of every applied object'),
      },
    },
    async handler(ctx) {
      const plan = ctx.isDryRun
        ? deps.runs.plan(ctx.input, [])
        : (
            await deps.runs.execute(runContext(ctx), ctx.input, {
              groups: ['kubernetes'],
              checkOwner: true,
            })
          ).plan;
      const ids = plan.namespaceBundle.map(o => `${o.kind}/${o.metadata.name}`);
      if (ctx.isDryRun) ctx.logger.info(`Dry run: would apply ${ids.join(', ')}`);
      ctx.output('namespace', plan.names.namespace);
      ctx.output('objects', ids);
    },
  });
}
