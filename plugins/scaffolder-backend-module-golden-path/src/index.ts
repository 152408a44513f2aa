/**
 * Golden-path scaffolder actions: everything a new service gets.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGoldenPath as default } from './module';
// The render layer is pure and public: the sandbox's tests and the benchmark
// use it to produce the exact objects Create would send.
export * from './render';
