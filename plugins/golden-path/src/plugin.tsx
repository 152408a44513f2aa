import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { goldenPathApi } from './api';
import { isArgoCdAvailable, isGitLabPipelineAvailable } from './filters';

/**
 * `entity-card:golden-path/argocd`: shown only for entities with the
 * `argocd/app-name` annotation.
 */
export const argoCdEntityCard = EntityCardBlueprint.make({
  name: 'argocd',
  params: {
    type: 'content',
    filter: isArgoCdAvailable,
    loader: () => import('./components/ArgoCdCard').then(m => <m.ArgoCdCard />),
  },
});

/**
 * `entity-card:golden-path/pipeline`: shown only for entities with the
 * `gitlab.com/project-slug` annotation.
 */
export const pipelineEntityCard = EntityCardBlueprint.make({
  name: 'pipeline',
  params: {
    type: 'content',
    filter: isGitLabPipelineAvailable,
    loader: () =>
      import('./components/PipelineCard').then(m => <m.PipelineCard />),
  },
});

/** The golden-path entity cards (new frontend system). */
export const goldenPathPlugin = createFrontendPlugin({
  pluginId: 'golden-path',
  title: 'Golden Path',
  extensions: [goldenPathApi, argoCdEntityCard, pipelineEntityCard],
});
