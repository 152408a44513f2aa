/**
 * Entity cards for golden-path services: ArgoCD sync and health, and the
 * latest GitLab pipeline, read through @internal/plugin-golden-path-backend;
 * and the service's lifecycle (Decommission).
 *
 * @packageDocumentation
 */
export { goldenPathPlugin as default } from './plugin';
export {
  argoCdEntityCard,
  lifecycleEntityCard,
  pipelineEntityCard,
} from './plugin';
export {
  isArgoCdAvailable,
  isGitLabPipelineAvailable,
  isGoldenPathService,
} from './filters';
