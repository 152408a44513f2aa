import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deriveNames } from '../render/derive';
import { ActionDeps } from './deps';
import { examples } from './catalogEntityRegister.examples';

/**
 * Registers the app repository's catalog-info.yaml as the initiating user.
 * The last step of the golden path: on success the task's saga is complete
 * and nothing will be rolled back any more.
 */
export function createCatalogEntityRegisterAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:catalog:entity:register',
    description:
      "Registers the app repository's catalog-info.yaml in the catalog with the initiating user's credentials. Completes the golden-path saga; if it fails, everything the task created is rolled back.",
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z => z.string().describe('Service name (the golden-path name rule applies)'),
        catalogInfoUrl: z => z.string().describe('URL of catalog-info.yaml in the app repository'),
      },
      output: {
        entityRef: z => z.string().describe('Ref of the registered Component'),
        locationId: z => z.string().describe('Id of the catalog location'),
      },
    },
    async handler(ctx) {
      const names = deriveNames(deps.settings, ctx.input.name);
      const expectedRef = `component:default/${names.namespace}`;
      if (ctx.isDryRun) {
        ctx.output('entityRef', expectedRef);
        ctx.output('locationId', '00000000-0000-0000-0000-000000000000');
        return;
      }
      const journal = deps.journals.forTask(ctx.task.id);
      const registered = await journal.run(ctx.logger, () =>
        journal.step({
          name: `catalog location ${ctx.input.catalogInfoUrl}`,
          do: () =>
            ctx.checkpoint({
              key: `register.catalog.${ctx.input.name}`,
              fn: async () => {
                const credentials = await ctx.getInitiatorCredentials();
                // A replay after a crash finds the location it registered.
                const existing = await deps.catalog.findLocation(ctx.input.catalogInfoUrl);
                if (existing?.entityRefs.includes(expectedRef)) return existing;
                const r = await deps.catalog.register(ctx.input.catalogInfoUrl, credentials);
                ctx.logger.info(`Registered ${r.entityRefs.join(', ')} in the catalog`);
                return r;
              },
            }),
          undo: r => deps.catalog.unregister(r.locationId),
        }),
      );
      deps.journals.complete(ctx.task.id);
      ctx.output(
        'entityRef',
        registered.entityRefs.find(r => r.startsWith('component:')) ?? expectedRef,
      );
      ctx.output('locationId', registered.locationId);
    },
  });
}
