import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { deriveNames } from '../render/derive';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ActionDeps, StepContext, stepContext } from './deps';
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
      const names = deriveNames(deps.settings, ctx.input.name);
      const expectedRef = `component:default/${names.namespace}`;
      if (ctx.isDryRun) {
        ctx.output('entityRef', expectedRef);
        ctx.output('locationId', '00000000-0000-0000-0000-000000000000');
        return;
      }
      const step = stepContext(ctx, deps.journals);
      const registered = await step.journal.run(ctx.logger, () =>
        registerInCatalog(deps, step, {
          name: ctx.input.name,
          catalogInfoUrl: ctx.input.catalogInfoUrl,
          credentials: () => ctx.getInitiatorCredentials(),
        }),
      );
      deps.journals.complete(ctx.task.id);
      ctx.output('entityRef', registered.entityRef);
      ctx.output('locationId', registered.locationId);
    },
  });
}

/**
 * The catalog step, as the initiating user. A replay after a crash finds
 * the location it registered.
 */
export async function registerInCatalog(
  deps: Pick<ActionDeps, 'catalog' | 'settings'>,
  step: StepContext,
  opts: {
    name: string;
    catalogInfoUrl: string;
    credentials: () => Promise<BackstageCredentials>;
  },
): Promise<{ locationId: string; entityRef: string }> {
  const expectedRef = `component:default/${
    deriveNames(deps.settings, opts.name).namespace
  }`;
  const r = await step.journal.step({
    name: `catalog location ${opts.catalogInfoUrl}`,
    do: () =>
      step.checkpoint({
        key: `register.catalog.${opts.name}`,
        fn: async () => {
          const existing = await deps.catalog.findLocation(opts.catalogInfoUrl);
          if (existing?.entityRefs.includes(expectedRef)) return existing;
          const registered = await deps.catalog.register(
            opts.catalogInfoUrl,
            await opts.credentials(),
          );
          step.logger.info(
            `Registered ${opts.catalogInfoUrl} in the catalog as ${expectedRef}`,
          );
          return registered;
        },
      }),
    undo: loc => deps.catalog.unregister(loc.locationId),
  });
  return {
    locationId: r.locationId,
    entityRef:
      r.entityRefs.find(ref => ref.startsWith('component:')) ?? expectedRef,
  };
}
