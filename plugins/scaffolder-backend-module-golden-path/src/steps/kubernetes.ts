import { ConflictError } from '@backstage/errors';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import { KubernetesApi } from '@internal/plugin-golden-path-node';
import { ServicePlan, withMarker } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';

/**
 * The namespace bundle, applied directly (not only through ArgoCD) so the
 * namespace's guard rails exist before anything can run in it. The
 * Namespace is *created* (POST), never applied over: an existing namespace
 * of that name is refused, even one made a moment ago by someone else.
 */
export function kubernetesSteps(
  kubernetes: KubernetesApi,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
  const bundle = plan.namespaceBundle.map(o => withMarker(o, plan.marker));
  const [namespace, ...rest] = bundle;
  const name = namespace.metadata.name;
  const title = `Kubernetes namespace ${name} and its guard rails`;
  const taken = () =>
    new ConflictError(
      `Service name "${plan.request.name}" is already taken: Kubernetes namespace ${name}. Choose another name.`,
    );
  return [
    {
      id: 'kubernetes.namespace',
      title,
      find: () => kubernetes.namespaceLabels(name),
      isOurs: (labels: Record<string, string>) =>
        labels[RUN_MARKER_KEY] === plan.marker,
      async ensure(ctx, _deps, found) {
        if (!found) {
          try {
            await kubernetes.createNamespace(namespace);
          } catch (error) {
            if (!(error instanceof ConflictError)) throw error;
            const labels = await kubernetes.namespaceLabels(name);
            if (labels?.[RUN_MARKER_KEY] !== plan.marker) throw taken();
          }
        }
        await kubernetes.apply(rest);
        const ids = bundle.map(o => `${o.kind}/${o.metadata.name}`);
        ctx.logger.info(`Applied ${ids.join(', ')}`);
        return ids;
      },
      undo: () => kubernetes.delete(bundle),
    },
  ];
}
