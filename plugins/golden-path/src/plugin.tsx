import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { goldenPathApi } from './api';
import {
  isArgoCdAvailable,
  isGitLabPipelineAvailable,
  isGoldenPathService,
} from './filters';
import { scaffolderTemplateRouteRef } from './routes';

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

/*
 * Slot: the upgrade's render-version card (`entity-card:golden-path/render-version`,
 * RenderVersionCard) goes here, between the status cards above and the
 * lifecycle card below, and into the plugin's `extensions` and the
 * app-config.yaml order at the same place.
 */

/**
 * `entity-card:golden-path/lifecycle`: what can be done with a golden-path
 * service as a whole (Decommission), only for entities with the run marker.
 */
export const lifecycleEntityCard = EntityCardBlueprint.make({
  name: 'lifecycle',
  params: {
    type: 'content',
    filter: isGoldenPathService,
    loader: () =>
      import('./components/LifecycleCard').then(m => <m.LifecycleCard />),
  },
});

/**
 * The golden-path entity cards (new frontend system). The app's config
 * (app-config.yaml `app.extensions`) puts them first, beside About.
 */
export const goldenPathPlugin = createFrontendPlugin({
  pluginId: 'golden-path',
  title: 'Golden Path',
  extensions: [
    goldenPathApi,
    argoCdEntityCard,
    pipelineEntityCard,
    lifecycleEntityCard,
  ],
  externalRoutes: { scaffolderTemplate: scaffolderTemplateRouteRef },
});
