/**
 * What the golden-path backend's routes answer (mounted at
 * `/api/golden-path`), shared by the backend that builds the answers and the
 * frontend that shows them.
 */

/** The ArgoCD Application of an entity: `GET /argocd/application?entityRef=`. */
export interface ArgoCdApplicationStatus {
  name: string;
  /** ArgoCD's sync status: `Synced`, `OutOfSync` or `Unknown`. */
  sync: string;
  /** ArgoCD's health status: `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`. */
  health: string;
  /** The commit the application is synced to (or compared with); null when unknown. */
  revision: string | null;
  /** When the last sync operation finished (ISO 8601); null when none has. */
  lastSyncedAt: string | null;
  /** The application's page in the ArgoCD UI. */
  url: string;
  /** Browser URL of the (GitOps) repository the application deploys from; null when not a web URL. */
  repoUrl: string | null;
}

/** One stage of a pipeline, in run order. */
export interface PipelineStage {
  name: string;
  /** GitLab's status of the stage: `success`, `failed`, `running`, `pending`, `canceled`, `skipped`, `manual`, ... */
  status: string;
}

/** The latest pipeline of an entity's app repository. */
export interface LatestPipeline {
  id: number;
  /** GitLab's pipeline status. */
  status: string;
  ref: string;
  sha: string;
  /** ISO 8601. */
  createdAt: string;
  webUrl: string;
  stages: PipelineStage[];
}
