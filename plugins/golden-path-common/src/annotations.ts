/**
 * Names of annotations, labels and tags that more than one package reads:
 * the catalog entity's annotations (written by the templates' skeletons, read
 * by the entity page and the status routes) and the marks the platform puts
 * on everything it creates (written by the scaffolder module, read by its
 * rollback, janitor and decommission, and by the status routes).
 */

/** Names the entity's ArgoCD Application. */
export const ARGOCD_APP_NAME_ANNOTATION = 'argocd/app-name';

/** The full path of the entity's GitLab project (its app repository). */
export const GITLAB_PROJECT_SLUG_ANNOTATION = 'gitlab.com/project-slug';

/** The full path of the service's GitOps project. */
export const GITOPS_PROJECT_SLUG_ANNOTATION = 'golden-path-idp/gitops-project-slug';

/** Value of `app.kubernetes.io/managed-by` on everything the platform renders. */
export const MANAGED_BY = 'golden-path-idp';

/**
 * Label/tag carrying the run marker: an unguessable value recorded in the
 * run's journal before anything is created and stamped on every resource the
 * run creates (GitLab topic, AWS tag, Kubernetes and ArgoCD label). A resource
 * is this run's only if it carries this run's marker.
 */
export const RUN_MARKER_KEY = 'golden-path-idp/run';

/** Label/tag carrying the service name on everything a run creates. */
export const SERVICE_KEY = 'golden-path-idp/service';

/** GitLab topic that marks every golden-path project. */
export const GOLDEN_PATH_TOPIC = 'golden-path-idp';

/** GitLab topics cannot contain "/": the run marker as a topic. */
export function runMarkerTopic(marker: string): string {
  return `golden-path-idp-run-${marker}`;
}

/** The run marker in a list of GitLab topics, if any. */
export function runMarkerFromTopics(topics: readonly string[]): string | undefined {
  const prefix = runMarkerTopic('');
  return topics.find(t => t.startsWith(prefix))?.slice(prefix.length);
}

/**
 * Annotation on a template that performs a lifecycle action on an existing
 * golden-path service (value: `decommission`, `upgrade`). The entity page
 * finds the template by it, so no code names a template.
 */
export const LIFECYCLE_ACTION_ANNOTATION = 'golden-path-idp/lifecycle-action';
