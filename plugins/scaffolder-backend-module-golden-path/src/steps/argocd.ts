import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import { ArgoCdApi } from '@internal/plugin-golden-path-node';
import { ServicePlan, withMarker } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';

type ArgoObject = Record<string, any>;
const ours = (o: ArgoObject, plan: ServicePlan) =>
  o?.metadata?.labels?.[RUN_MARKER_KEY] === plan.marker;

/** The ArgoCD steps: the AppProject, then the Application once its repository has manifests. */
export function argocdSteps(
  argocd: ArgoCdApi,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
  const project = withMarker(plan.argocd.project, plan.marker);
  const application = withMarker(plan.argocd.application, plan.marker);
  return [
    {
      id: 'argocd.project',
      title: `ArgoCD project ${project.metadata.name}`,
      find: () => argocd.getProject(project.metadata.name),
      isOurs: (o: ArgoObject) => ours(o, plan),
      // `found` is what find just read (undefined: absent), so ensure does
      // not read it again: one round trip less on the critical path.
      async ensure(_ctx, _deps, found?: ArgoObject) {
        await argocd.ensureProject(project, { current: found });
        return project.metadata.name;
      },
      undo: () => argocd.deleteProject(project.metadata.name),
    },
    {
      // ArgoCD checks the repository when the application is created (the
      // client retries while it cannot see it yet).
      id: 'argocd.application',
      title: `ArgoCD application ${application.metadata.name}`,
      after: ['argocd.project', 'gitlab.gitops-push'],
      find: () => argocd.getApplication(application.metadata.name),
      isOurs: (o: ArgoObject) => ours(o, plan),
      async ensure(_ctx, _deps, found?: ArgoObject) {
        await argocd.ensureApplication(application, { current: found });
        return application.metadata.name;
      },
      undo: () => argocd.deleteApplication(application.metadata.name),
    },
  ];
}
