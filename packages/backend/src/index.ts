/*
 * The Golden Path IDP backend (new backend system).
 *
 * Local runs (app-config.yaml) use SQLite and guest sign-in; production
 * (app-config.production.yaml) uses PostgreSQL and GitHub sign-in only. The
 * config validator module refuses to start a misconfigured backend.
 */
import { createBackend } from '@backstage/backend-defaults';
import { loadDatabaseCa } from './databaseCa';
import { reportStartupFailure } from './startupFailure';

loadDatabaseCa();

const backend = createBackend();

// Loads config like the default root config service, then validates it and
// refuses to boot with one error that lists every problem.
backend.add(import('@internal/config-validator'));

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-proxy-backend'));

// Sign-in: guest locally, GitHub in production (see app-config*.yaml).
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-auth-backend-module-github-provider'));

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@backstage/plugin-permission-backend-module-allow-all-policy'),
);

backend.add(import('@backstage/plugin-scaffolder-backend'));
// Our golden-path scaffolder actions.
backend.add(import('@internal/plugin-scaffolder-backend-module-golden-path'));
// ArgoCD and pipeline status for the entity pages (tokens stay here).
backend.add(import('@internal/plugin-golden-path-backend'));

backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));

backend.add(import('@backstage/plugin-user-settings-backend'));
// Live updates (scaffolder task progress, user settings) over a websocket.
backend.add(import('@backstage/plugin-signals-backend'));

backend.start().catch(reportStartupFailure);
