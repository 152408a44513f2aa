/**
 * Answers of @internal/plugin-golden-path-backend (see its src/types.ts;
 * keep both in step).
 */

/** `GET /argocd/applications/:name` */
export interface ArgoCdApplicationStatus {
  name: string;
  /** `Synced`, `OutOfSync` or `Unknown`. */
  sync: string;
  /** `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`. */
  health: string;
  revision: string | null;
  lastSyncedAt: string | null;
  /** The application in the ArgoCD UI. */
  url: string;
  /** Browser URL of the GitOps repository the application deploys from. */
  repoUrl: string | null;
}

/** One stage of a pipeline, in run order. */
export interface PipelineStage {
  name: string;
  status: string;
}

/** `GET /gitlab/pipelines/latest?project=<path>` */
export interface LatestPipeline {
  id: number;
  status: string;
  ref: string;
  sha: string;
  createdAt: string;
  webUrl: string;
  stages: PipelineStage[];
}
