/**
 * Golden-path scaffolder actions: everything a new service gets.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGoldenPath as default } from './module';
export * from './render/name';
// Reused by @internal/plugin-golden-path-backend (read-only status for the portal).
export { ArgoCdClient } from './clients/ArgoCdClient';
export type { ArgoCdClientOptions } from './clients/ArgoCdClient';
export { gitlabConnectionFromConfig } from './clients/GitLabClient';
