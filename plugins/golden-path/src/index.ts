/**
 * Entity cards for golden-path services: ArgoCD sync and health, and the
 * latest GitLab pipeline, read through @internal/plugin-golden-path-backend.
 *
 * @packageDocumentation
 */
export { goldenPathPlugin as default } from './plugin';
export { argoCdEntityCard, pipelineEntityCard } from './plugin';
export {
  ARGOCD_APP_NAME_ANNOTATION,
  GITLAB_PROJECT_SLUG_ANNOTATION,
  isArgoCdAvailable,
  isGitLabPipelineAvailable,
} from './filters';
export type {
  ArgoCdApplicationStatus,
  LatestPipeline,
  PipelineStage,
} from './types';
