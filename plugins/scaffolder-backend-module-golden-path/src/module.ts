import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import {
  CatalogGateway,
  goldenPathServiceRef,
} from '@internal/plugin-golden-path-node';
import { createGoldenPathActions } from './actions';
import { SagaJournals } from './saga';

/**
 * Registers the golden-path scaffolder actions. Only wiring lives here: the
 * settings and clients come from the golden-path service (config read once,
 * this plugin's logger), the actions get them injected.
 */
export const scaffolderModuleGoldenPath = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'golden-path',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        auth: coreServices.auth,
        catalog: catalogServiceRef,
        goldenPath: goldenPathServiceRef,
      },
      async init({ scaffolder, auth, catalog, goldenPath }) {
        scaffolder.addActions(
          ...createGoldenPathActions({
            settings: goldenPath.settings().platform,
            gitlab: goldenPath.gitlab(),
            aws: goldenPath.aws(),
            argocd: goldenPath.argocd(),
            kubernetes: goldenPath.kubernetes(),
            catalog: new CatalogGateway(catalog, auth),
            journals: new SagaJournals(),
          }),
        );
      },
    });
  },
});
