/**
 * Golden-path scaffolder actions: everything a new service gets.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGoldenPath as default } from './module';
export * from './render/name';
