import { Entity } from '@backstage/catalog-model';

import {
  ARGOCD_APP_NAME_ANNOTATION,
  GITLAB_PROJECT_SLUG_ANNOTATION,
  RUN_MARKER_KEY,
} from '@internal/plugin-golden-path-common';

function annotation(entity: Entity, key: string): string | undefined {
  const value = entity.metadata.annotations?.[key]?.trim();
  return value ? value : undefined;
}

/** The entity's ArgoCD Application name, if it has one. */
export function argoCdAppNameOf(entity: Entity): string | undefined {
  return annotation(entity, ARGOCD_APP_NAME_ANNOTATION);
}

/** The entity's GitLab project path, if it has one. */
export function gitLabProjectOf(entity: Entity): string | undefined {
  return annotation(entity, GITLAB_PROJECT_SLUG_ANNOTATION);
}

/** Entity card filter: the ArgoCD card shows only for entities with `argocd/app-name`. */
export function isArgoCdAvailable(entity: Entity): boolean {
  return argoCdAppNameOf(entity) !== undefined;
}

/** Entity card filter: the pipeline card shows only for entities with `gitlab.com/project-slug`. */
export function isGitLabPipelineAvailable(entity: Entity): boolean {
  return gitLabProjectOf(entity) !== undefined;
}

/** A service made by a golden path (its entity carries the run marker): it has a lifecycle here. */
export function isGoldenPathService(entity: Entity): boolean {
  return annotation(entity, RUN_MARKER_KEY) !== undefined;
}
