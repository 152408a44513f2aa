/**
 * What golden-path backend plugins and modules share: the `goldenPath`
 * settings (one declaration, read once) and one client per external system,
 * offered through {@link goldenPathServiceRef}.
 *
 * @packageDocumentation
 */
export * from './config';
export * from './roles';
export * from './services';
export * from './clients/types';
export * from './databaseConfig';
export * from './clients/databaseTypes';
export {
  PostgresAdminClient,
  scramSha256Verifier,
  scramVerifierMatches,
  tlsOptions,
} from './clients/PostgresAdminClient';
export { SecretsManagerStore } from './clients/SecretsManagerStore';
export { VaultKvStore } from './clients/VaultKvStore';
export { ArgoCdClient } from './clients/ArgoCdClient';
export type { ArgoCdClientOptions } from './clients/ArgoCdClient';
export { AwsRegistryClient } from './clients/AwsRegistryClient';
export { GitLabClient } from './clients/GitLabClient';
export {
  GitLabPipelinesClient,
  isProjectPath,
} from './clients/GitLabPipelinesClient';
export { KubernetesClient } from './clients/KubernetesClient';
export type { KubernetesClientOptions } from './clients/KubernetesClient';
export { lazyKubernetesClient } from './clients/lazyKubernetes';
export { CatalogGateway } from './clients/CatalogGateway';
export type { CatalogApi, CatalogLocation } from './clients/CatalogGateway';
export * from './clients/ecr';
export { withRetry, RetryError } from './clients/retry';
export type { RetryPolicy } from './clients/retry';
