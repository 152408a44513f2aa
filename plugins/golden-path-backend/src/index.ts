/**
 * Backend of the golden-path entity cards: ArgoCD application status and the
 * latest GitLab pipeline, read with the platform's tokens.
 *
 * @packageDocumentation
 */
export { goldenPathPlugin as default } from './plugin';
