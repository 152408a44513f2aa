import os from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import {
  scaffolderActionsExtensionPoint,
  scaffolderServiceRef,
} from '@backstage/plugin-scaffolder-node';
import {
  CatalogGateway,
  goldenPathServiceRef,
  readDecommissionSettings,
  readRoles,
  readRunSettings,
} from '@internal/plugin-golden-path-node';
import { createGoldenPathActions, ServiceRuns } from './actions';
import { createOwnerCheck } from './actions/ownerCheck';
import { createPlatformServiceDecommissionAction } from './actions/platformServiceDecommission';
import { createDecommissionAuthorizer } from './lifecycle/authorize';
import { ServiceDecommissions } from './lifecycle/decommission';
import { Janitor, taskStatusOf } from './janitor/Janitor';
import { createRunsRouter } from './janitor/router';
import { SagaEngine } from './saga/engine';
import { createPlatformServiceUpgradeAction } from './actions/platformServiceUpgrade';
import { createUpgradeAccess } from './upgrade/access';
import { ServiceUpgrader } from './upgrade/ServiceUpgrader';
import { GoldenPathServices } from './upgrade/targets';
import { RunStore } from './saga/RunStore';

/**
 * Registers the golden-path scaffolder actions and the janitor. Only wiring
 * lives here: settings and clients come from the golden-path service (config
 * read once, this plugin's logger), the run journal from the scaffolder
 * plugin's database, and everything is injected.
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
        logger: coreServices.logger,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        httpRouter: coreServices.httpRouter,
        userInfo: coreServices.userInfo,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        catalog: catalogServiceRef,
        scaffolderService: scaffolderServiceRef,
        goldenPath: goldenPathServiceRef,
      },
      async init(deps) {
        const { config, auth, logger, goldenPath } = deps;
        const runSettings = readRunSettings(config);
        const store = await RunStore.create(await deps.database.getClient());
        const engine = new SagaEngine({
          store,
          logger,
          owner: `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
          leaseMs: runSettings.leaseMs,
        });
        const clients = {
          gitlab: goldenPath.gitlab(),
          aws: goldenPath.aws(),
          argocd: goldenPath.argocd(),
          kubernetes: goldenPath.kubernetes(),
          catalog: new CatalogGateway(deps.catalog, auth),
          argocdWebhook: goldenPath.settings().argocd.webhook,
          database: goldenPath.database(),
        };
        const settings = goldenPath.settings().platform;
        deps.scaffolder.addActions(
          ...createGoldenPathActions({
            settings,
            clients,
            runs: new ServiceRuns({
              settings,
              clients,
              store,
              engine,
              ownerCheck: createOwnerCheck({
                catalog: clients.catalog,
                userInfo: deps.userInfo,
                roles: readRoles(config),
              }),
            }),
          }),
        );

        const decommissions = new ServiceDecommissions({
          settings,
          clients,
          store,
          engine,
          authorize: createDecommissionAuthorizer({
            permissions: deps.permissions,
            userInfo: deps.userInfo,
            roles: readRoles(config),
          }),
          repositories: readDecommissionSettings(config).repositories,
        });
        deps.scaffolder.addActions(
          createPlatformServiceDecommissionAction({ decommissions }),
        );

        deps.scaffolder.addActions(
          createPlatformServiceUpgradeAction({
            upgrader: new ServiceUpgrader({
              settings,
              clients,
              logger: logger.child({ action: 'idp:platform:service:upgrade' }),
            }),
            services: new GoldenPathServices(deps.catalog, auth),
            access: createUpgradeAccess({
              permissions: deps.permissions,
              userInfo: deps.userInfo,
              roles: readRoles(config),
            }),
          }),
        );

        const janitor = new Janitor({
          store,
          engine,
          clients,
          logger: logger.child({ task: 'golden-path-janitor' }),
          abandonedAfterMs: runSettings.janitor.abandonedAfterMs,
          decommissions,
          taskStatus: async taskId =>
            taskStatusOf(async () =>
              deps.scaffolderService.getTask(
                { taskId },
                { credentials: await auth.getOwnServiceCredentials() },
              ),
            ),
        });
        if (runSettings.janitor.enabled) {
          await deps.scheduler.scheduleTask({
            id: 'golden-path-janitor',
            // One runner across replicas.
            scope: 'global',
            frequency: { milliseconds: runSettings.janitor.intervalMs },
            timeout: { minutes: 10 },
            initialDelay: { seconds: 15 },
            fn: async () => {
              await janitor.sweep();
            },
          });
        }
        deps.httpRouter.use(
          await createRunsRouter({
            store,
            httpAuth: deps.httpAuth,
            permissions: deps.permissions,
          }),
        );
      },
    });
  },
});
