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

/**
 * `entity-card:golden-path/render-version`: which golden-path version the
 * service's GitOps manifests were rendered with, and whether an upgrade
 * merge request is waiting.
 */
export const renderVersionEntityCard = EntityCardBlueprint.make({
  name: 'render-version',
  params: {
    type: 'content',
    filter: isGoldenPathService,
    loader: () =>
      import('./components/RenderVersionCard').then(m => <m.RenderVersionCard />),
  },
});

/**
 * `entity-card:golden-path/lifecycle`: what can be done with a golden-path
 * service as a whole (Decommission), only for entities with the run marker.
 * An info card: it sits in the side column with About.
 */
export const lifecycleEntityCard = EntityCardBlueprint.make({
  name: 'lifecycle',
  params: {
    type: 'info',
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
    renderVersionEntityCard,
    lifecycleEntityCard,
  ],
  externalRoutes: { scaffolderTemplate: scaffolderTemplateRouteRef },
});
