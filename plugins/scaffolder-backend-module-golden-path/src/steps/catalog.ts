import { CatalogApi } from '@internal/plugin-golden-path-node';
import type { CatalogLocation } from '@internal/plugin-golden-path-node';
import { ServicePlan } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';

/** The registration record the journal keeps. */
export type RegistrationRecord = { locationId: string; entityRef: string };

/**
 * The catalog step, as the platform. The location of our own app
 * repository's catalog-info.yaml is this run's when its entity carries the
 * run marker (stamped into the file by the plan), or while the catalog has
 * not processed it yet (no entity, so no other run's marker either).
 */
export function catalogSteps(
  catalog: CatalogApi,
  plan: ServicePlan,
): SagaStep<ServicePlan>[] {
  const expectedRef = `component:default/${plan.names.namespace}`;
  return [
    {
      id: 'catalog.location',
      title: `catalog location ${plan.catalogInfoUrl}`,
      find: () => catalog.findLocation(plan.catalogInfoUrl),
      isOurs: (l: CatalogLocation) =>
        l.markers.length === 0 || l.markers.includes(plan.marker),
      async ensure(ctx, _deps, found?: CatalogLocation) {
        const registered =
          found ?? (await catalog.register(plan.catalogInfoUrl));
        const entityRef =
          registered.entityRefs.find(ref => ref.startsWith('component:')) ??
          expectedRef;
        ctx.logger.info(
          `Registered ${plan.catalogInfoUrl} in the catalog as ${entityRef}`,
        );
        return { locationId: registered.locationId, entityRef };
      },
      undo: (_ctx, found: CatalogLocation) => catalog.unregister(found.locationId),
    },
  ];
}
