import yaml from 'yaml';
import { FakeCheckpoints, FakeWorld } from '../__testUtils__/fakeWorld';
import { goldenPathHarness } from '../__testUtils__/goldenPathRun';

// The sweeps run the whole golden path once per call; give them room on a
// loaded machine (no timing is asserted).
jest.setTimeout(120_000);

const NAME = 'payments-api';

/** Everything a successful run creates, as FakeWorld.resourcesFor lists it. */
async function cleanRun(composition: 'template' | 'single' = 'template') {
  const h = goldenPathHarness();
  await h.run(NAME, 'task-clean', { composition });
  h.cleanup();
  return {
    resources: h.world.resourcesFor(NAME).sort(),
    calls: h.world.calls.length,
    h,
  };
}

describe('the golden path as one saga', () => {
  it('creates every resource of a service', async () => {
    const { resources } = await cleanRun();
    expect(resources).toEqual(
      expect.arrayContaining([
        'gitlab:apps/payments-api',
        'gitlab:platform/gitops/payments-api-gitops',
        'ecr:payments-api',
        'iam-policy:idp-payments-api-ecr-push-pull',
        'iam-user:idp-payments-api-ci',
        'argocd-project:payments-api',
        'k8s:Namespace//payments-api',
        'catalog:component:default/payments-api',
      ]),
    );
    expect(resources.some(r => r.startsWith('argocd-app:'))).toBe(true);
    expect(
      resources.filter(r => r.startsWith('k8s:NetworkPolicy')).length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('stores secrets only in masked GitLab variables', async () => {
    const h = goldenPathHarness();
    await h.run(NAME, 't1');
    const app = h.world.projects.get('apps/payments-api')!;
    expect(app.variables.get('GITOPS_DEPLOY_TOKEN')).toBe(
      h.world.canaries.gitlabAccessToken,
    );
    expect(app.variables.get('AWS_SECRET_ACCESS_KEY')).toBe(
      h.world.canaries.awsSecretAccessKey,
    );
    const leaks = JSON.stringify({
      logs: [h.logger.info, h.logger.warn, h.logger.error, h.logger.debug].map(
        m => m.mock.calls,
      ),
      outputs: h.outputs,
      checkpoints: [...h.checkpoints.store],
    });
    for (const canary of Object.values(h.world.canaries)) {
      expect(leaks).not.toContain(canary);
    }
    h.cleanup();
  });

  it.each(['template', 'single'] as const)(
    'fails at every call in turn and leaves nothing behind (fault sweep, %s composition)',
    async composition => {
      const { calls } = await cleanRun(composition);
      const orphans: string[] = [];
      for (let failAt = 1; failAt <= calls; failAt++) {
        const h = goldenPathHarness();
        h.world.failAt = failAt;
        const error = await h.run(NAME, `task-${failAt}`, { composition }).then(
          () => undefined,
          e => e,
        );
        expect(error?.message).toContain('injected failure');
        expect(error.message).toMatch(/Rolled back: |nothing was rolled back/);
        orphans.push(
          ...h.world
            .resourcesFor(NAME)
            .map(r => `fail at ${failAt} (${h.world.calls[failAt - 1]}): ${r}`),
        );
        h.cleanup();
      }
      // eslint-disable-next-line no-console
      console.log(
        `fault sweep (${composition}): ${calls} fault points, ${orphans.length} orphans`,
      );
      expect(orphans).toEqual([]);
    },
  );

  it('refuses a taken name before creating anything, listing every place', async () => {
    const h = goldenPathHarness();
    await h.world.gitlab.createProject({
      groupPath: 'apps',
      name: NAME,
      description: '',
      topics: [],
    });
    await h.world.aws.createRepository(NAME, {});
    const before = h.world.calls.length;
    await expect(h.run(NAME, 'task-x')).rejects.toThrow(
      'Service name "payments-api" is already taken: GitLab project apps/payments-api, ECR repository payments-api. Choose another name.',
    );
    const created = h.world.calls
      .slice(before)
      .filter(c => /create|commit|apply|register|ensure/.test(c));
    expect(created).toEqual([]);
    h.cleanup();
  });

  it.each(['template', 'single'] as const)(
    'lets exactly one of two concurrent Creates of one name succeed, leaving the winner intact (%s)',
    async composition => {
      const world = new FakeWorld();
      const a = goldenPathHarness(world);
      const b = goldenPathHarness(world);
      const results = await Promise.allSettled([
        a.run(NAME, 'task-a', { composition }),
        b.run(NAME, 'task-b', { composition }),
      ]);
      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find(
        r => r.status === 'rejected',
      ) as PromiseRejectedResult;
      expect(failure.reason.message).toMatch(/already (taken|exists)/);
      expect(world.resourcesFor(NAME).sort()).toEqual(
        (await cleanRun()).resources,
      );
      a.cleanup();
      b.cleanup();
    },
  );

  it.each(['template', 'single'] as const)(
    'finishes without duplicates when replayed after a crash at any call (%s)',
    async composition => {
      const { calls, resources } = await cleanRun(composition);
      for (let crashAt = 1; crashAt <= calls; crashAt++) {
        const world = new FakeWorld();
        const checkpoints = new FakeCheckpoints();
        world.crashAt = crashAt;
        const first = goldenPathHarness(world, checkpoints);
        void first.run(NAME, 'task-crash', { composition }); // never settles: the process "died"
        await new Promise(r => setImmediate(r));
        while (world.calls.length < crashAt)
          await new Promise(r => setImmediate(r));
        world.crashAt = undefined;
        // A new process replays the task from the start with the stored checkpoints.
        const second = goldenPathHarness(world, checkpoints);
        await expect(
          second.run(NAME, 'task-crash', { composition }),
        ).resolves.toBeUndefined();
        expect(world.resourcesFor(NAME).sort()).toEqual(resources);
        expect(
          world.projects.get('platform/gitops/payments-api-gitops')!.tokens
            .length,
        ).toBeLessThanOrEqual(2);
        first.cleanup();
        second.cleanup();
      }
    },
  );

  it('never adopts or deletes a namespace or ArgoCD project that another task or a person made', async () => {
    const h = goldenPathHarness();
    const service = {
      name: NAME,
      owner: 'group:default/team-a',
      description: 'x',
      port: 3000,
    };
    await h.world.kubernetes.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAME } },
    ]);
    await h.world.argocd.ensureProject({ metadata: { name: NAME }, spec: {} });
    await expect(
      h.runStep('idp:kubernetes:bundle:apply', service, 'task-k'),
    ).rejects.toThrow(
      `Service name "${NAME}" is already taken: Kubernetes namespace ${NAME}`,
    );
    await expect(
      h.runStep('idp:argocd:application:ensure', service, 'task-a'),
    ).rejects.toThrow(
      `Service name "${NAME}" is already taken: ArgoCD project ${NAME}`,
    );
    expect(h.world.k8s.has(`Namespace//${NAME}`)).toBe(true);
    expect(h.world.argoProjects.has(NAME)).toBe(true);
    h.cleanup();
  });

  it('makes no external call in a dry run and still outputs realistic values', async () => {
    const h = goldenPathHarness();
    await h.run(NAME, 'task-dry', { isDryRun: true });
    await h.run(NAME, 'task-dry', { isDryRun: true, composition: 'single' });
    expect(h.world.calls).toEqual([]);
    expect(h.outputs).toMatchObject({
      'idp:platform:service:provision.appRepoUrl':
        'https://gitlab.test/apps/payments-api',
      'idp:platform:service:provision.repositoryUri':
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api',
      'idp:gitlab:repositories:ensure.appRepoUrl':
        'https://gitlab.test/apps/payments-api',
      'idp:aws:ecr:ensure.repositoryUri':
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api',
      'idp:argocd:application:ensure.argocdAppUrl': expect.stringContaining(
        'https://argocd.test/applications/argocd/',
      ),
      'idp:catalog:entity:register.entityRef': 'component:default/payments-api',
    });
    h.cleanup();
  });

  it('runs every documented example (dry run)', async () => {
    const h = goldenPathHarness();
    let count = 0;
    for (const action of h.actions.values()) {
      for (const example of action.examples ?? []) {
        for (const step of yaml.parse(example.example).steps) {
          expect(step.action).toBe(action.id);
          await h.runStep(action.id, step.input ?? {}, 'task-examples', true);
          count++;
        }
      }
    }
    expect(count).toBeGreaterThanOrEqual(h.actions.size);
    expect(h.world.calls).toEqual([]);
    h.cleanup();
  });
});
