/**
 * Entity cards for golden-path services: ArgoCD sync and health, and the
 * latest GitLab pipeline, read through @internal/plugin-golden-path-backend.
 *
 * @packageDocumentation
 */
export { goldenPathPlugin as default } from './plugin';
export { argoCdEntityCard, pipelineEntityCard } from './plugin';
export { isArgoCdAvailable, isGitLabPipelineAvailable } from './filters';
