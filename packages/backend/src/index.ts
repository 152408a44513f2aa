/*
 * The Golden Path IDP backend (new backend system).
 *
 * Local runs (app-config.yaml) use SQLite and guest sign-in; production
 * (app-config.production.yaml) uses PostgreSQL and GitHub sign-in only. The
 * config validator module refuses to start a misconfigured backend.
 */
import { createBackend } from '@backstage/backend-defaults';
import {
  coreServices,
  createBackendFeatureLoader,
} from '@backstage/backend-plugin-api';
import { loadDatabaseCa } from './databaseCa';
import { authModuleLocalUsersProvider } from './modules/localUsers';
import { checkedDatabaseServiceFactory } from './portalDatabase';
import { reportStartupFailure } from './startupFailure';

loadDatabaseCa();

const backend = createBackend();

// Loads config like the default root config service, then validates it and
// refuses to boot with one error that lists every problem.
backend.add(import('@internal/config-validator'));
// The portal's own PostgreSQL: refuses to start, with the fix, when plugins
// would crash-loop on a missing CREATEDB or on a TLS-only server.
backend.add(checkedDatabaseServiceFactory);

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-proxy-backend'));

backend.add(import('@backstage/plugin-auth-backend'));

// Sign-in and the organisation, chosen by config: only what is configured is
// loaded, so the local providers never exist in a production backend.
//   guest (+ localUsers): local; github: GitHub OAuth, users and teams from
//   the GitHub organisation; oidc: e.g. Keycloak.
backend.add(
  createBackendFeatureLoader({
    deps: { config: coreServices.rootConfig },
    *loader({ config }) {
      const signIn = config.getOptionalString('goldenPath.signIn') ?? 'guest';
      if (signIn === 'guest' && config.has('auth.providers.guest')) {
        yield import('@backstage/plugin-auth-backend-module-guest-provider');
      }
      if (config.has('auth.providers.localUsers')) {
        yield authModuleLocalUsersProvider;
      }
      if (signIn === 'github') {
        yield import('@backstage/plugin-auth-backend-module-github-provider');
      }
      if (signIn === 'oidc') {
        yield import('@backstage/plugin-auth-backend-module-oidc-provider');
      }
      if (config.has('catalog.providers.githubOrg')) {
        yield import('@backstage/plugin-catalog-backend-module-github-org');
      }
    },
  }),
);

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

backend.add(import('@backstage/plugin-permission-backend'));
// Deny by default; roles from roles.yaml (goldenPath.permissions.roles).
backend.add(import('@internal/plugin-permission-backend-module-golden-path'));

backend.add(import('@backstage/plugin-scaffolder-backend'));
// The benchmark (yarn bench) measures the backend without our modules too:
// IDP_WITHOUT_GOLDEN_PATH=1.
if (process.env.IDP_WITHOUT_GOLDEN_PATH !== '1') {
  // Our golden-path scaffolder actions.
  backend.add(import('@internal/plugin-scaffolder-backend-module-golden-path'));
  // ArgoCD and pipeline status for the entity pages (tokens stay here).
  backend.add(import('@internal/plugin-golden-path-backend'));
}

backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));

backend.add(import('@backstage/plugin-user-settings-backend'));
// Live updates (scaffolder task progress, user settings) over a websocket.
backend.add(import('@backstage/plugin-signals-backend'));

backend.start().catch(reportStartupFailure);
