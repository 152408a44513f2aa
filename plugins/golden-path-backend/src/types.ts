/**
 * What the routes answer. The frontend plugin (@internal/plugin-golden-path)
 * declares the same shapes; keep both in step.
 */

/** `GET /argocd/applications/:name` */
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

/** `GET /gitlab/pipelines/latest?project=<path>` */
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
