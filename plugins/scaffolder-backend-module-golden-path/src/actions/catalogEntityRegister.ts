import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { ActionDeps } from './deps';
import { examples } from './catalogEntityRegister.examples';
import { runContext } from './serviceInput';

/**
 * Registers the app repository's catalog-info.yaml as the initiating user.
 * The last step of the golden path: on success the run is complete and
 * nothing will ever roll it back.
 */
export function createCatalogEntityRegisterAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:catalog:entity:register',
    description:
      "Registers the app repository's catalog-info.yaml in the catalog with the initiating user's credentials. Completes the golden-path run; if it fails, everything the task created is rolled back.",
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z =>
          z
            .string()
            .describe('Service name (the golden-path name rule applies)'),
        catalogInfoUrl: z =>
          z.string().describe('URL of catalog-info.yaml in the app repository'),
      },
      output: {
        entityRef: z => z.string().describe('Ref of the registered Component'),
        locationId: z => z.string().describe('Id of the catalog location'),
      },
    },
    async handler(ctx) {
      const input = { name: ctx.input.name, owner: '' };
      if (ctx.isDryRun) {
        const plan = deps.runs.plan(input, []);
        ctx.output('entityRef', `component:default/${plan.names.namespace}`);
        ctx.output('locationId', '00000000-0000-0000-0000-000000000000');
        return;
      }
      const expected = deps.runs.plan(input, []).catalogInfoUrl;
      if (ctx.input.catalogInfoUrl !== expected) {
        throw new InputError(
          `catalogInfoUrl must be the catalog-info.yaml of the service's app repository, ${expected}; got ${ctx.input.catalogInfoUrl}`,
        );
      }
      const { results } = await deps.runs.execute(runContext(ctx), input, {
        groups: ['catalog'],
      });
      await deps.runs.complete(ctx.task.id);
      const registered = results['catalog.location'] as {
        locationId: string;
        entityRef: string;
      };
      ctx.output('entityRef', registered.entityRef);
      ctx.output('locationId', registered.locationId);
    },
  });
}
