import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { goldenPathServiceRef } from '@internal/plugin-golden-path-node';
import { createRouter } from './router';

/**
 * Read-only ArgoCD and GitLab pipeline status for the portal's entity pages.
 * The routes reuse the platform's ArgoCD and GitLab tokens, which stay here:
 * the default auth policy admits only authenticated callers (a signed-in
 * user, or another backend plugin), and no answer carries a token.
 */
export const goldenPathPlugin = createBackendPlugin({
  pluginId: 'golden-path',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        goldenPath: goldenPathServiceRef,
        httpAuth: coreServices.httpAuth,
        catalog: catalogServiceRef,
      },
      async init({ config, logger, httpRouter, goldenPath, httpAuth, catalog }) {
        httpRouter.use(
          await createRouter({ config, logger, goldenPath, httpAuth, catalog }),
        );
      },
    });
  },
});
