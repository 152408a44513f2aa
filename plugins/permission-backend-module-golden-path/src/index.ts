/**
 * The portal's permission policy (platform admins, developers, deny by
 * default) as a module of the permission plugin. The roles it reads
 * (roles.yaml) are declared in @internal/plugin-golden-path-node.
 *
 * @packageDocumentation
 */
export { permissionModuleGoldenPathPolicy as default } from './module';
export { GoldenPathPermissionPolicy } from './policy';
export { DECISIONS, DECISIONS_BY_NAME } from './decisions';
export type { DeveloperDecision, PermissionDecision } from './decisions';
