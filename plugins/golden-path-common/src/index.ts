/**
 * Shared by the golden-path frontend, backend and scaffolder module: the
 * service-name rule, annotation and label names, and route response shapes.
 *
 * @packageDocumentation
 */
export * from './name';
export * from './annotations';
export * from './api';
export * from './types';
export * from './permissions';
export * from './upgrade';
