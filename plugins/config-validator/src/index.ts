/**
 * Refuses to boot a misconfigured backend, listing every problem at once.
 *
 * @packageDocumentation
 */
export {
  configValidatorServiceFactory as default,
  ConfigValidationError,
} from './module';
export { validate, modeOf } from './validate';
export type { ValidationContext, ValidationMode } from './validate';
export { formatProblems } from './problems';
export type { ConfigProblem } from './problems';
