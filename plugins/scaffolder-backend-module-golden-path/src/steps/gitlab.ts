import { ConflictError } from '@backstage/errors';
import {
  GOLDEN_PATH_TOPIC,
  runMarkerTopic,
} from '@internal/plugin-golden-path-common';
import { GitLabApi, GitLabProject } from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { RepoFile } from '../plan/files';
import { SagaStep } from '../saga/engine';

/** A GitLab project as the journal keeps it. */
export type ProjectRecord = { id: number; pathWithNamespace: string };

const ours = (p: GitLabProject, plan: ServicePlan) =>
  p.topics.includes(runMarkerTopic(plan.marker));

/**
 * A project of the service, marked with the run's topic. GitLab refuses a
 * second project at one path, so a lost race surfaces as ConflictError and
 * is re-read: ours (a replay) is kept, anything else is "taken".
 */
function projectStep(
  gitlab: GitLabApi,
  plan: ServicePlan,
  id: string,
  fullPath: string,
  description: string,
): SagaStep<ServicePlan, GitLabProject> {
  const title = `GitLab project ${fullPath}`;
  const slash = fullPath.lastIndexOf('/');
  const record = (p: GitLabProject): ProjectRecord => ({
    id: p.id,
    pathWithNamespace: p.pathWithNamespace,
  });
  return {
    id,
    title,
    find: () => gitlab.findProject(fullPath),
    isOurs: p => ours(p, plan),
    async ensure(_ctx, _deps, found) {
      if (found) return record(found);
      try {
        return record(
          await gitlab.createProject({
            groupPath: fullPath.slice(0, slash),
            name: fullPath.slice(slash + 1),
            description,
            topics: [GOLDEN_PATH_TOPIC, runMarkerTopic(plan.marker)],
          }),
        );
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        const existing = await gitlab.findProject(fullPath);
        if (existing && ours(existing, plan)) return record(existing);
        throw new ConflictError(
          `Service name "${plan.request.name}" is already taken: ${title}. Choose another name.`,
        );
      }
    },
    undo: (_ctx, found) =>
      gitlab.deleteProject({
        id: found!.id,
        pathWithNamespace: found!.pathWithNamespace,
      }),
  };
}

/** Pushes files to `main` in one commit and protects the branch (idempotent). */
function pushStep(
  gitlab: GitLabApi,
  id: string,
  after: string,
  title: string,
  files: RepoFile[],
  message: string,
  protection?: { push: number; merge: number },
): SagaStep<ServicePlan> {
  return {
    id,
    title,
    after: [after],
    async ensure(ctx, deps) {
      const project = deps[after] as ProjectRecord;
      const { sha } = await gitlab.commitFiles(project.id, {
        branch: 'main',
        message,
        files,
      });
      await gitlab.protectBranch(project.id, 'main', protection);
      ctx.logger.info(
        `Pushed ${files.length} files to ${project.pathWithNamespace} in commit ${sha}`,
      );
      return { sha };
    },
  };
}

/** Maintainer: who merges into a protected branch. */
const MAINTAINER = 40;

/**
 * The app pipeline's update-gitops stage pushes with this token: the
 * narrowest GitLab offers for the job (a project access token of the GitOps
 * project only, Developer, `write_repository` only, expiring). Its value
 * goes only into a masked, hidden, protected variable; the journal keeps
 * its id. Running the step again (a replay, or a rotation through upgrade)
 * first revokes every token of that name it made before, so exactly one
 * works at any time.
 */
export function deployTokenStep(
  gitlab: GitLabApi,
  plan: ServicePlan,
): SagaStep<ServicePlan> {
  const { names, deployToken } = plan;
  return {
    id: 'gitlab.deploy-token',
    title: `GitOps deploy token of ${names.appRepoPath}`,
    after: ['gitlab.gitops-project', 'gitlab.app-project'],
    async ensure(ctx, deps) {
      const gitops = deps['gitlab.gitops-project'] as ProjectRecord;
      const app = deps['gitlab.app-project'] as ProjectRecord;
      const previous = (
        await gitlab.listActiveProjectAccessTokens(gitops.id)
      ).filter(t => t.name === deployToken.name);
      for (const old of previous) {
        await gitlab.revokeProjectAccessToken(gitops.id, old.id);
        ctx.logger.info(
          `Revoked the previous GitOps token ${old.id} of ${gitops.pathWithNamespace}`,
        );
      }
      const { id, token } = await gitlab.createProjectAccessToken(gitops.id, {
        name: deployToken.name,
        scopes: [...deployToken.scopes],
        accessLevel: deployToken.accessLevel,
        expiresAt: deployToken.expiresAt,
      });
      await gitlab.setVariable(app.id, {
        key: 'GITOPS_DEPLOY_TOKEN',
        value: token,
        masked: true,
        hidden: true,
        protected: true,
      });
      ctx.logger.info(
        `Set masked, hidden variable GITOPS_DEPLOY_TOKEN on ${app.pathWithNamespace} (token ${id}, expires ${deployToken.expiresAt})`,
      );
      return { tokenId: id, expiresAt: deployToken.expiresAt };
    },
  };
}

/** The GitLab steps: both projects, both pushes, the GitOps deploy token. */
export function gitlabSteps(
  gitlab: GitLabApi,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
  const { names, request } = plan;
  return [
    projectStep(gitlab, plan, 'gitlab.app-project', names.appRepoPath, request.description),
    projectStep(
      gitlab,
      plan,
      'gitlab.gitops-project',
      names.gitopsRepoPath,
      `GitOps manifests of ${request.name} (managed by the platform)`,
    ),
    pushStep(
      gitlab,
      'gitlab.app-push',
      'gitlab.app-project',
      `first commit of ${names.appRepoPath}`,
      plan.app.files,
      `Initial commit of ${request.name} from the golden-path template`,
    ),
    pushStep(
      gitlab,
      'gitlab.gitops-push',
      'gitlab.gitops-project',
      `first commit of ${names.gitopsRepoPath}`,
      plan.gitops.files,
      `Initial manifests of ${request.name}`,
      // The deploy token is a Developer: it may push to main, never force.
      { push: plan.deployToken.accessLevel, merge: MAINTAINER },
    ),
    deployTokenStep(gitlab, plan),
  ];
}
