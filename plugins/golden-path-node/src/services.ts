import {
  LoggerService,
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { ServiceUnavailableError, isError } from '@backstage/errors';
import {
  GoldenPathSettings,
  readArgoCdSettings,
  readAwsSettings,
  readGitLabConnection,
  readGoldenPathSettings,
  readKubernetesSettings,
} from './config';
import { ArgoCdClient } from './clients/ArgoCdClient';
import { DatabaseClients, SecretWriterApi } from './clients/databaseTypes';
import { PostgresAdminClient } from './clients/PostgresAdminClient';
import { SecretsManagerStore } from './clients/SecretsManagerStore';
import { VaultKvStore } from './clients/VaultKvStore';
import { AwsRegistryClient } from './clients/AwsRegistryClient';
import { GitLabClient } from './clients/GitLabClient';
import { GitLabPipelinesClient } from './clients/GitLabPipelinesClient';
import { lazyKubernetesClient } from './clients/lazyKubernetes';
import { KubernetesApi } from './clients/types';
import { RetryPolicy } from './clients/retry';

/**
 * Reads for a status card must answer quickly: at most two attempts within a
 * few seconds, whatever retry provisioning is configured with.
 */
export const QUICK_READ_RETRY: RetryPolicy = {
  maxAttempts: 2,
  baseDelayMs: 200,
  maxDelayMs: 1_000,
  maxTotalMs: 5_000,
};

/**
 * The golden path's settings and clients, for any backend plugin or module.
 * Each is built on first use from config read once, with this plugin's
 * logger, and then kept. A missing or invalid config key fails the call with
 * a ServiceUnavailableError naming the key: a module that needs everything
 * asks at startup (and refuses to start), a status route asks per request
 * (and answers 503).
 */
export interface GoldenPathService {
  settings(): GoldenPathSettings;
  gitlab(): GitLabClient;
  /** Read-only pipeline reads with a short timeout. */
  pipelines(): GitLabPipelinesClient;
  aws(): AwsRegistryClient;
  argocd(): ArgoCdClient;
  /** The ArgoCD client with {@link QUICK_READ_RETRY}, for reads a person waits for. */
  argocdQuickReads(): ArgoCdClient;
  /** Loads @kubernetes/client-node on its first call, not at startup (lazyKubernetes.ts). */
  kubernetes(): KubernetesApi;
  /**
   * The platform's PostgreSQL admin login and the secret store its
   * services' passwords go to; undefined when `goldenPath.database` is not
   * configured (the form's database option then says so).
   */
  database(): DatabaseClients | undefined;
}

function once<T>(what: string, build: () => T): () => T {
  let value: T | undefined;
  return () => {
    if (value === undefined) {
      try {
        value = build();
      } catch (error) {
        throw new ServiceUnavailableError(
          `${what} is not configured: ${
            isError(error) ? error.message : String(error)
          }`,
        );
      }
    }
    return value;
  };
}

/**
 * Where services' passwords are written: the provider of
 * `goldenPath.secrets` (Secrets Manager by default, Vault's KV v2 engine).
 */
function secretWriter(
  config: Parameters<typeof readAwsSettings>[0],
  settings: GoldenPathSettings,
  logger: LoggerService,
): SecretWriterApi {
  const { provider, vault } = settings.platform.secrets;
  if (provider === 'vault') {
    const token = config.getOptionalString('goldenPath.secrets.vault.token');
    if (!vault || !token) {
      throw new Error(
        'goldenPath.secrets.vault.server and .token are needed to write database passwords to Vault',
      );
    }
    return new VaultKvStore({ server: vault.server, kvMount: vault.kvMount, token, logger });
  }
  return SecretsManagerStore.fromSettings(readAwsSettings(config), { logger });
}

/** See {@link GoldenPathService}. */
export const goldenPathServiceRef = createServiceRef<GoldenPathService>({
  id: 'golden-path.service',
  scope: 'plugin',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      factory({ config, logger }): GoldenPathService {
        const settings = once('The golden path (goldenPath)', () =>
          readGoldenPathSettings(config),
        );
        // null (cached) when there is no goldenPath.database.
        const database = once(
          'PostgreSQL (goldenPath.database)',
          (): DatabaseClients | null => {
            const connection = settings().database;
            if (!connection) return null;
            return {
              admin: PostgresAdminClient.fromConnection(connection, { logger }),
              secrets: secretWriter(config, settings(), logger),
            };
          },
        );
        return {
          settings,
          gitlab: once('GitLab (goldenPath.gitlab)', () =>
            GitLabClient.fromConnection(readGitLabConnection(config), {
              logger,
            }),
          ),
          pipelines: once('GitLab (goldenPath.gitlab)', () =>
            GitLabPipelinesClient.fromConnection(readGitLabConnection(config)),
          ),
          aws: once('AWS (goldenPath.aws)', () =>
            AwsRegistryClient.fromConfig(config, { logger }),
          ),
          argocd: once('ArgoCD (goldenPath.argocd)', () =>
            ArgoCdClient.fromSettings(readArgoCdSettings(config), { logger }),
          ),
          argocdQuickReads: once('ArgoCD (goldenPath.argocd)', () =>
            ArgoCdClient.fromSettings(
              { ...readArgoCdSettings(config), retry: QUICK_READ_RETRY },
              { logger, requestTimeoutMs: 10_000 },
            ),
          ),
          kubernetes: once('Kubernetes (goldenPath.kubernetes)', () =>
            lazyKubernetesClient(readKubernetesSettings(config)),
          ),
          database: () => database() ?? undefined,
        };
      },
    }),
});
