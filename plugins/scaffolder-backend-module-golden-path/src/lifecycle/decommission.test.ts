import fc from 'fast-check';
import { FakeWorld } from '../__testUtils__/fakeWorld';
import { TEST_SETTINGS } from '../__testUtils__/goldenPathRun';
import { planService } from '../plan/ServicePlan';
import { SagaStep } from '../saga/engine';
import { serviceSteps } from '../steps';
import { RETAINED_STEPS, decommissionOrder } from './decommission';

const step = (id: string, after: string[] = []): SagaStep<unknown> => ({
  id,
  title: id,
  after,
  ensure: async () => null,
});

describe('decommissionOrder', () => {
  it('undoes every step after the steps that depend on it (any DAG)', () => {
    // Random DAGs: step i may depend on any step before it.
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(), { maxLength: 4 }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.array(
          fc.constantFrom('argocd.', 'aws.', 'kubernetes.', 'catalog.'),
          { minLength: 12, maxLength: 12 },
        ),
        (deps, prefixes) => {
          const ids = deps.map((_d, i) => `${prefixes[i]}s${i}`);
          const steps = deps.map((d, i) =>
            step(ids[i], i === 0 ? [] : [...new Set(d.map(x => ids[x % i]))]),
          );
          const order = decommissionOrder(steps).map(s => s.id);
          expect([...order].sort()).toEqual([...ids].sort());
          for (const s of steps) {
            for (const dep of s.after ?? []) {
              // A step is undone before anything it needed.
              expect(order.indexOf(s.id)).toBeLessThan(order.indexOf(dep));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("puts ArgoCD first, the kept GitLab projects after everything they hold, and the catalog last, on Create's own steps", () => {
    const world = new FakeWorld();
    const plan = planService(
      TEST_SETTINGS,
      {
        name: 'payments-api',
        owner: 'group:default/team-a',
        ciCredentials: true,
      },
      { marker: 'm', now: new Date('2026-12-01T00:00:00Z') },
    );
    const steps = serviceSteps(
      {
        gitlab: world.gitlab,
        aws: world.aws,
        argocd: world.argocd,
        kubernetes: world.kubernetes,
        catalog: world.catalog,
      },
      plan,
    );
    const order = decommissionOrder(steps).map(s => s.id);
    const at = (id: string) => order.indexOf(id);
    expect(at('argocd.application')).toBe(0);
    expect(at('argocd.project')).toBe(1);
    expect(at('kubernetes.namespace')).toBeGreaterThan(
      at('argocd.application'),
    );
    for (const kept of RETAINED_STEPS) {
      expect(at(kept)).toBeGreaterThan(-1);
      const holders = steps.filter(s => s.after?.includes(kept)).map(s => s.id);
      expect(holders.filter(id => at(id) > at(kept))).toEqual([]);
    }
    expect(
      order
        .filter(id => !id.startsWith('catalog.'))
        .every(id => at(id) < at('catalog.location')),
    ).toBe(true);
    expect(order.at(-1)).toBe('catalog.location');
  });
});
