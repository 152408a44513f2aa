// The scaffolder hands actions zod's v3 API.
import type { z as zod } from 'zod/v3';
import { ServicePlan } from '../plan/ServicePlan';
import { INITIAL_IMAGE_TAG } from '../plan/ServicePlan';

/**
 * The service fields every provisioning action takes, described for the
 * portal's action list. The scaffolder hands handlers the raw input (no zod
 * defaults run), so defaults and validation happen once, in the plan.
 */
export const serviceInputSchema = {
  name: (z: typeof zod) =>
    z.string().describe('Service name (the golden-path name rule applies)'),
  owner: (z: typeof zod) =>
    z.string().describe('Owner entity ref, e.g. group:default/team-a'),
  description: (z: typeof zod) =>
    z.string().optional().describe('What the service does; any text'),
  port: (z: typeof zod) =>
    z
      .number()
      .int()
      .optional()
      .describe('Container port the app listens on (default 3000)'),
  replicas: (z: typeof zod) =>
    z.number().int().optional().describe('Number of replicas (default 2)'),
  database: (z: typeof zod) =>
    z
      .boolean()
      .optional()
      .describe(
        'The service needs a PostgreSQL database: its own database and login role on the platform server, the password in its secret folder, DATABASE_URL delivered by an ExternalSecret (default false)',
      ),
  runtime: (z: typeof zod) =>
    z
      .record(z.string(), z.any())
      .optional()
      .describe(
        "The template's runtime: name, healthPath, metricsPath, env, resources, probes (templates/README.md; default: the Node.js profile)",
      ),
};

/** Inputs of the actions that push the repositories' content. */
export const repositoryContentInputSchema = {
  sourcePath: (z: typeof zod) =>
    z
      .string()
      .optional()
      .describe(
        'Workspace folder holding the rendered app skeleton (default: the workspace root)',
      ),
  initialImageTag: (z: typeof zod) =>
    z
      .string()
      .optional()
      .describe(
        `Image tag the GitOps Deployment starts with (default "${INITIAL_IMAGE_TAG}")`,
      ),
};

/** Outputs about the repositories, shared by the actions that make them. */
export const repositoryOutputSchema = {
  appRepoUrl: (z: typeof zod) =>
    z.string().describe('Browser URL of the app repository'),
  pipelinesUrl: (z: typeof zod) =>
    z.string().describe('Pipelines of the app repository'),
  gitopsRepoUrl: (z: typeof zod) =>
    z.string().describe('Browser URL of the GitOps repository'),
  catalogInfoUrl: (z: typeof zod) =>
    z.string().describe('URL of catalog-info.yaml in the app repository'),
};

/** The repository outputs of a plan. */
export function repositoryOutputs(
  plan: ServicePlan,
  output: (name: any, value: string) => void,
): void {
  output('appRepoUrl', plan.names.appRepoWebUrl);
  output('pipelinesUrl', `${plan.names.appRepoWebUrl}/-/pipelines`);
  output('gitopsRepoUrl', plan.names.gitopsRepoWebUrl);
  output('catalogInfoUrl', plan.catalogInfoUrl);
}

/** What a run needs from an action's context. */
export function runContext(ctx: {
  task: { id: string };
  logger: any;
  signal?: AbortSignal;
  user?: { ref?: string };
  getInitiatorCredentials?: () => Promise<any>;
}) {
  return {
    taskId: ctx.task.id,
    logger: ctx.logger,
    signal: ctx.signal,
    createdBy: ctx.user?.ref,
    credentials: ctx.getInitiatorCredentials
      ? () => ctx.getInitiatorCredentials!()
      : undefined,
  };
}
