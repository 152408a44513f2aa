import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import { GitLabApi, GitLabHook } from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';

/** Where GitLab tells ArgoCD about a push (`goldenPath.argocd.webhook`). */
export interface ArgoCdWebhookTarget {
  url: string;
  /** ArgoCD's `webhook.gitlab.secret`; never journaled. */
  secret?: string;
}

/** The hook's description: the run marker, like every resource Create makes. */
export function hookDescription(marker: string): string {
  return `ArgoCD deploys on push (${RUN_MARKER_KEY}=${marker})`;
}

/**
 * The GitOps repository's push webhook to ArgoCD: a new image tag on main
 * is deployed at once instead of at ArgoCD's next poll (three minutes by
 * default). Found by URL; ours when its description carries the marker.
 */
export function webhookSteps(
  gitlab: GitLabApi,
  target: ArgoCdWebhookTarget,
  plan: ServicePlan,
): SagaStep<ServicePlan, GitLabHook & { projectId: number }>[] {
  const path = plan.names.gitopsRepoPath;
  return [
    {
      id: 'gitlab.gitops-webhook',
      title: `push webhook of ${path} to ArgoCD`,
      after: ['gitlab.gitops-project'],
      async find() {
        const project = await gitlab.findProject(path);
        if (!project) return undefined;
        const hook = (await gitlab.listHooks(project.id)).find(
          h => h.url === target.url,
        );
        return hook && { ...hook, projectId: project.id };
      },
      isOurs: hook => hook.description.includes(hookDescription(plan.marker)),
      async ensure(ctx, deps, found) {
        if (found) return { hookId: found.id };
        const project = deps['gitlab.gitops-project'] as { id: number };
        const hook = await gitlab.addPushHook(project.id, {
          url: target.url,
          branch: 'main',
          token: target.secret,
          description: hookDescription(plan.marker),
        });
        ctx.logger.info(`${path} tells ArgoCD about every push to main`);
        return { hookId: hook.id };
      },
      undo: (_ctx, found) =>
        found ? gitlab.deleteHook(found.projectId, found.id) : Promise.resolve(),
    },
  ];
}
