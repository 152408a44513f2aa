import { LoggerService } from '@backstage/backend-plugin-api';
import { GitLabApi, GitLabProject } from '@internal/plugin-golden-path-node';

/** What Decommission does with the service's GitLab repositories. */
export type RepositoryMode = 'archive' | 'delete';

/** What retiring one project did (or, in a dry run, would do). */
export interface RetiredProject {
  project: string;
  /** Keys of the CI/CD variables removed (never values). */
  variables: string[];
  /** Names of the access tokens revoked. */
  tokens: string[];
  /** How many webhooks were removed. */
  hooks: number;
  /** Archived by this call (false: it already was). */
  archived: boolean;
  /** Scheduled for GitLab's delayed deletion by this call. */
  scheduledForDeletion: boolean;
}

/** True when retiring changed something (or would). */
export function retiredAnything(r: RetiredProject): boolean {
  return (
    r.variables.length > 0 ||
    r.tokens.length > 0 ||
    r.hooks > 0 ||
    r.archived ||
    r.scheduledForDeletion
  );
}

/** One line for the report: what happened to the repository and in it. */
export function describeRetired(
  r: RetiredProject,
  mode: RepositoryMode,
  dryRun = false,
): string {
  const will = (done: string, would: string) => (dryRun ? would : done);
  const state = r.archived
    ? will('archived', 'would be archived')
    : 'already archived';
  const parts = [state];
  if (mode === 'delete') {
    parts.push(
      r.scheduledForDeletion
        ? will(
            'scheduled for deletion (GitLab removes it after its retention period)',
            'would be scheduled for deletion',
          )
        : 'already scheduled for deletion',
    );
  }
  if (r.variables.length) {
    parts.push(
      `${will('removed', 'would remove')} CI/CD variable${
        r.variables.length > 1 ? 's' : ''
      } ${r.variables.join(', ')}`,
    );
  }
  if (r.tokens.length) {
    parts.push(
      `${will('revoked', 'would revoke')} access token${
        r.tokens.length > 1 ? 's' : ''
      } ${r.tokens.join(', ')}`,
    );
  }
  if (r.hooks) {
    parts.push(
      `${will('removed', 'would remove')} ${r.hooks} webhook${
        r.hooks > 1 ? 's' : ''
      }`,
    );
  }
  if (!retiredAnything(r)) parts.push('nothing left in it');
  return parts.join('; ');
}

/**
 * Retires a project of a decommissioned service instead of deleting it, so
 * code and history are never lost by a click: first everything that could
 * still act for the service (CI/CD variables, which hold its credentials;
 * project access tokens, such as the GitOps deploy token; webhooks), then
 * the project is archived (read-only) and, with `delete`, scheduled for
 * GitLab's own delayed deletion. Every part is idempotent, so a re-run
 * after a failure anywhere finishes the job. A dry run only reads.
 */
export async function retireProject(
  gitlab: GitLabApi,
  project: GitLabProject,
  opts: { mode: RepositoryMode; dryRun: boolean; logger: LoggerService },
): Promise<RetiredProject> {
  const { mode, dryRun, logger } = opts;
  const name = project.pathWithNamespace;
  const variables = await gitlab.listVariables(project.id);
  const tokens = await gitlab.listActiveProjectAccessTokens(project.id);
  const hooks = await gitlab.listHooks(project.id);
  const result: RetiredProject = {
    project: name,
    variables: [...new Set(variables.map(v => v.key))].sort(),
    tokens: tokens.map(t => t.name).sort(),
    hooks: hooks.length,
    archived: project.archived !== true,
    scheduledForDeletion: mode === 'delete' && !project.markedForDeletionOn,
  };
  if (dryRun) return result;

  for (const variable of variables) {
    await gitlab.deleteVariable(project.id, variable);
    logger.info(`Removed CI/CD variable ${variable.key} of ${name}`);
  }
  for (const token of tokens) {
    await gitlab.revokeProjectAccessToken(project.id, token.id);
    logger.info(`Revoked access token ${token.name} of ${name}`);
  }
  for (const hook of hooks) {
    await gitlab.deleteHook(project.id, hook.id);
    logger.info(`Removed webhook ${hook.id} of ${name}`);
  }
  if (result.archived) {
    await gitlab.archiveProject(project.id);
    logger.info(`Archived GitLab project ${name}`);
  }
  if (result.scheduledForDeletion) {
    await gitlab.scheduleProjectDeletion({
      id: project.id,
      pathWithNamespace: name,
    });
    logger.info(`Scheduled GitLab project ${name} for deletion`);
  }
  return result;
}
