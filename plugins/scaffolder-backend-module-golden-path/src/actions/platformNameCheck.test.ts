import { FakeWorld } from '../__testUtils__/fakeWorld';
import {
  goldenPathHarness,
  journalDatabase,
} from '../__testUtils__/goldenPathRun';

describe('idp:platform:name:check', () => {
  it('runs its examples: a free name passes and says so in the log', async () => {
    const h = goldenPathHarness();
    expect(await h.runExamples('idp:platform:name:check', false)).toBe(1);
    expect(h.outputs['idp:platform:name:check.free']).toBe(true);
    expect(h.logged()).toContain('Service name "payments-api" is free everywhere');
    expect(h.world.calls.every(c => /find|get|exists/i.test(c))).toBe(true);
    h.cleanup();
  });

  it('lists every place the name is taken, in one message', async () => {
    const h = goldenPathHarness();
    await h.world.gitlab.createProject({ groupPath: 'platform/gitops', name: 'payments-api-gitops', description: '', topics: [] });
    await h.world.kubernetes.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'payments-api' } }]);
    await expect(
      h.runStep('idp:platform:name:check', { name: 'payments-api' }, 't'),
    ).rejects.toThrow(
      'Service name "payments-api" is already taken: GitLab project platform/gitops/payments-api-gitops, Kubernetes namespace payments-api. Choose another name. Nothing had been created, so nothing was rolled back.',
    );
    h.cleanup();
  });

  it('sees a Create of the same name in flight on another replica', async () => {
    const world = new FakeWorld();
    const db = journalDatabase();
    const a = goldenPathHarness(world, db);
    const b = goldenPathHarness(world, db);
    const { store } = await a.ready;
    await store.start({ taskId: 'other-task', serviceName: 'payments-api', kind: 'create', marker: 'm', plan: {} });
    await expect(
      b.runStep('idp:platform:name:check', { name: 'payments-api' }, 'my-task'),
    ).rejects.toThrow('already taken: another Create of this name in progress');
    a.cleanup();
    b.cleanup();
  });

  it('refuses a name whose host an Ingress already claims, in any namespace', async () => {
    const h = goldenPathHarness();
    await h.world.kubernetes.apply([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'legacy', namespace: 'shop' },
        spec: { rules: [{ host: 'payments-api.apps.test' }] },
      },
    ]);
    await expect(
      h.runStep('idp:platform:name:check', { name: 'payments-api' }, 't'),
    ).rejects.toThrow(
      'Service name "payments-api" is already taken: host payments-api.apps.test (an Ingress on the shared load balancer claims it).',
    );
    h.cleanup();
  });

  it('refuses a host the platform keeps, before looking anywhere', async () => {
    const h = goldenPathHarness();
    await expect(
      h.runStep('idp:platform:name:check', { name: 'portal' }, 't'),
    ).rejects.toThrow(
      'name "portal" is reserved: portal.apps.test is a host the platform keeps on the shared load balancer',
    );
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });

  it('makes no call in a dry run', async () => {
    const h = goldenPathHarness();
    await h.runExamples('idp:platform:name:check', true);
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });
});
