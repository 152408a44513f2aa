import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createGoldenPathActions } from './actions';
import { ArgoCdClient } from './clients/ArgoCdClient';
import { AwsRegistryClient } from './clients/AwsRegistryClient';
import { CatalogGateway } from './clients/CatalogGateway';
import { GitLabClient } from './clients/GitLabClient';
import { KubernetesClient } from './clients/KubernetesClient';
import { SagaJournals } from './saga';
import { readPlatformSettings } from './settings';

/**
 * Registers the golden-path scaffolder actions. Only wiring lives here:
 * read config once, build clients, register actions.
 */
export const scaffolderModuleGoldenPath = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'golden-path',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        auth: coreServices.auth,
        catalog: catalogServiceRef,
      },
      async init({ scaffolder, config, auth, catalog }) {
        scaffolder.addActions(
          ...createGoldenPathActions({
            settings: readPlatformSettings(config),
            gitlab: GitLabClient.fromConfig(config),
            aws: AwsRegistryClient.fromConfig(config),
            argocd: ArgoCdClient.fromConfig(config),
            kubernetes: KubernetesClient.fromConfig(config),
            catalog: new CatalogGateway(catalog, auth),
            journals: new SagaJournals(),
          }),
        );
      },
    });
  },
});
