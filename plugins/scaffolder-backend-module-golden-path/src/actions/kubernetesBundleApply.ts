import { renderContext } from '../render/context';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  renderNamespace,
  renderRole,
  renderRoleBinding,
  renderServiceAccount,
} from '../render/kubernetes';
import { renderNetworkPolicies } from '../render/networkPolicies';
import { ServiceInput } from '../render/input';
import { PlatformSettings } from '../render/types';
import { KubernetesObject } from '@internal/plugin-golden-path-node';
import {
  ActionDeps,
  StepContext,
  TASK_MARKER_KEY,
  nameTakenError,
  stepContext,
} from './deps';
import { serviceInputSchema, toServiceRequest } from './serviceInput';
import { examples } from './kubernetesBundleApply.examples';

/**
 * The namespace bundle applied directly (not only through ArgoCD), so the
 * namespace's guard rails exist before anything can run in it.
 */
export function renderNamespaceBundle(
  settings: PlatformSettings,
  request: ServiceInput,
): KubernetesObject[] {
  return [
    renderNamespace(renderContext(settings, request)),
    ...renderNetworkPolicies(renderContext(settings, request)),
    renderServiceAccount(renderContext(settings, request)),
    renderRole(renderContext(settings, request)),
    renderRoleBinding(renderContext(settings, request)),
  ] as unknown as KubernetesObject[];
}

/** Server-side applies the Namespace + NetworkPolicy + RBAC bundle. */
export function createKubernetesBundleApplyAction(deps: ActionDeps) {
  return createTemplateAction({
    id: 'idp:kubernetes:bundle:apply',
    description:
      "Server-side applies the service's Namespace, NetworkPolicies (default deny and the allowed flows), ServiceAccount, read-only Role and RoleBinding. Rolls back everything the task created if it fails.",
    examples,
    supportsDryRun: true,
    schema: {
      input: serviceInputSchema,
      output: {
        namespace: z => z.string().describe('The namespace of the service'),
        objects: z =>
          z.array(z.string()).describe('kind/name of every applied object'),
      },
    },
    async handler(ctx) {
      const bundle = renderNamespaceBundle(
        deps.settings,
        toServiceRequest(ctx.input),
      );
      const ids = bundle.map(o => `${o.kind}/${o.metadata.name}`);
      const namespace = bundle[0].metadata.name;
      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would apply ${ids.join(', ')}`);
      } else {
        const step = stepContext(ctx, deps.journals);
        await step.journal.run(ctx.logger, () =>
          applyNamespaceBundle(deps, step, bundle),
        );
      }
      ctx.output('namespace', namespace);
      ctx.output('objects', ids);
    },
  });
}

/** The namespace step: server-side apply of the bundle; undo deletes it. */
export async function applyNamespaceBundle(
  deps: Pick<ActionDeps, 'kubernetes'>,
  step: StepContext,
  rendered: KubernetesObject[],
): Promise<string[]> {
  const namespace = rendered[0].metadata.name;
  // The Namespace carries this task's marker: only a namespace this task
  // made is ever applied over (a replay) or deleted by its rollback.
  const bundle = rendered.map(o =>
    o.kind === 'Namespace'
      ? {
          ...o,
          metadata: {
            ...o.metadata,
            labels: {
              ...(o.metadata.labels as Record<string, string>),
              [TASK_MARKER_KEY]: step.taskId,
            },
          },
        }
      : o,
  );
  const ids = bundle.map(o => `${o.kind}/${o.metadata.name}`);
  return step.journal.step({
    name: `Kubernetes namespace ${namespace} and its policies`,
    do: () =>
      step.checkpoint({
        key: `apply.kubernetes.bundle.${namespace}`,
        fn: async () => {
          const labels = await deps.kubernetes.namespaceLabels(namespace);
          if (labels && labels[TASK_MARKER_KEY] !== step.taskId) {
            throw nameTakenError(namespace, [
              `Kubernetes namespace ${namespace}`,
            ]);
          }
          try {
            await deps.kubernetes.apply(bundle);
          } catch (error) {
            // Objects are applied one by one, so a failure can leave the
            // first ones behind; the step is recorded only once it
            // completes, so they are removed here. If that fails too, the
            // apply error stays the one reported and the leftovers are
            // listed for removal by hand.
            await deps.kubernetes
              .delete(bundle)
              .catch(cleanup =>
                step.journal.leftover(
                  `Kubernetes namespace ${namespace} and its policies`,
                  cleanup,
                ),
              );
            throw error;
          }
          step.logger.info(`Applied ${ids.join(', ')}`);
          return ids;
        },
      }),
    undo: () => deps.kubernetes.delete(bundle),
  });
}
