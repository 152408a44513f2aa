import { runMarkerFromTopics } from '@internal/plugin-golden-path-common';
import { FakeWorld } from '../__testUtils__/fakeWorld';
import {
  TEST_SETTINGS,
  goldenPathHarness,
  journalDatabase,
} from '../__testUtils__/goldenPathRun';
import { deployTokenStep } from '../steps/gitlab';

// The sweeps run the whole golden path once per call; give them room on a
// loaded machine (no timing is asserted).
jest.setTimeout(180_000);

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

const settle = (p: Promise<unknown>) => p.then(() => undefined, e => e as Error);

describe('the golden path as one saga', () => {
  it('creates every resource of a service', async () => {
    const { resources } = await cleanRun();
    expect(resources).toEqual(
      expect.arrayContaining([
        'gitlab:apps/payments-api',
        'gitlab:platform/gitops/payments-api-gitops',
        'ecr:payments-api',
        'iam-policy:idp-payments-api-ecr-push-pull',
        'iam-role:idp-payments-api-ci',
        'iam-policy:idp-payments-api-secrets-read',
        'iam-role:idp-payments-api-secrets',
        'argocd-project:payments-api',
        'k8s:ResourceQuota/payments-api/payments-api',
        'k8s:LimitRange/payments-api/payments-api',
        'k8s:SecretStore/payments-api/payments-api',
        'k8s:Namespace//payments-api',
        'catalog:component:default/payments-api',
      ]),
    );
    expect(resources.some(r => r.startsWith('argocd-app:'))).toBe(true);
    // No long-lived key by default: no IAM user exists.
    expect(resources.filter(r => r.startsWith('iam-user:'))).toEqual([]);
    expect(
      resources.filter(r => r.startsWith('k8s:NetworkPolicy')).length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('tells ArgoCD about every push to the GitOps repository, with a hook that carries the marker', async () => {
    const { h } = await cleanRun();
    const gitops = h.world.projects.get('platform/gitops/payments-api-gitops')!;
    expect(gitops.hooks).toEqual([
      expect.objectContaining({
        url: 'https://argocd.test/api/webhook',
        branchFilter: 'main',
        pushEvents: true,
      }),
    ]);
    const marker = runMarkerFromTopics(gitops.topics);
    expect(marker).toMatch(/^[0-9a-f]{32}$/);
    expect(gitops.hooks[0].description).toContain(`=${marker}`);
  });

  it('stamps one unguessable run marker on everything it creates, never the task id', async () => {
    const h = goldenPathHarness();
    await h.run(NAME, 'task-marker');
    const run = await (await h.ready).store.get('task-marker');
    expect(run!.marker).toMatch(/^[0-9a-f]{32}$/);
    const marker = run!.marker;
    expect(h.world.projects.get('apps/payments-api')!.topics).toContain(
      `golden-path-idp-run-${marker}`,
    );
    expect(h.world.repositories.get(NAME)!.tags['golden-path-idp/run']).toBe(marker);
    expect(h.world.policies.get('idp-payments-api-ecr-push-pull')!.tags['golden-path-idp/run']).toBe(marker);
    expect(h.world.roles.get('idp-payments-api-ci')!.tags['golden-path-idp/run']).toBe(marker);
    expect(h.world.roles.get('idp-payments-api-secrets')!.tags['golden-path-idp/run']).toBe(marker);
    expect(h.world.argoProjects.get(NAME)!.metadata.labels['golden-path-idp/run']).toBe(marker);
    expect(h.world.argoApps.get(NAME)!.metadata.labels['golden-path-idp/run']).toBe(marker);
    expect((h.world.k8s.get(`Namespace//${NAME}`) as any).metadata.labels['golden-path-idp/run']).toBe(marker);
    expect(h.world.projects.get('apps/payments-api')!.files.get('catalog-info.yaml')).toContain(
      `golden-path-idp/run: ${marker}`,
    );
    expect(JSON.stringify([...h.world.projects.values()].map(p => p.topics))).not.toContain('task-marker');
    expect(run!.state).toBe('completed');
    h.cleanup();
  });

  it('gives CI a role its own default branch can assume, behind the boundary, and its ARN as a plain variable', async () => {
    const h = goldenPathHarness();
    await h.run(NAME, 't-role');
    const role = h.world.roles.get('idp-payments-api-ci')!;
    expect(role.permissionsBoundaryArn).toBe(
      'arn:aws:iam::123456789012:policy/idp-permissions-boundary',
    );
    expect(role.policyArns).toEqual([
      'arn:aws:iam::123456789012:policy/idp-payments-api-ecr-push-pull',
    ]);
    expect(JSON.stringify(role.trustPolicy)).toContain(
      'project_path:apps/payments-api:ref_type:branch:ref:main',
    );
    expect(h.world.roles.get('idp-payments-api-secrets')!.permissionsBoundaryArn).toBe(
      role.permissionsBoundaryArn,
    );
    // The boundary is platform-wide: made once, not tagged with this run.
    expect(
      h.world.policies.get('idp-permissions-boundary')!.tags['golden-path-idp/run'],
    ).toBeUndefined();
    const app = h.world.projects.get('apps/payments-api')!;
    expect(app.variables.get('AWS_ROLE_ARN')).toBe(role.arn);
    expect(app.variables.get('AWS_OIDC_AUDIENCE')).toBe('https://gitlab.test');
    expect(app.variables.has('AWS_SECRET_ACCESS_KEY')).toBe(false);
    h.cleanup();
  });

  it('keeps the permissions boundary when it rolls back', async () => {
    const h = goldenPathHarness();
    const { calls } = await cleanRun();
    h.world.failAt = calls;
    await settle(h.run(NAME, 't-boundary'));
    expect(h.world.resourcesFor(NAME)).toEqual([]);
    expect(h.world.policies.has('idp-permissions-boundary')).toBe(true);
    h.cleanup();
  });

  it('revokes the GitOps token it made before when its token step runs again', async () => {
    const h = goldenPathHarness();
    await h.run(NAME, 't-token');
    const gitops = h.world.projects.get('platform/gitops/payments-api-gitops')!;
    const [first] = gitops.tokens;
    const { plan } = await (await h.ready).runs.planFor('t-token', { name: NAME, owner: '' }, undefined);
    const step = deployTokenStep(h.world.gitlab, plan);
    const logger = h.logger;
    await step.ensure(
      { run: {} as any, plan, logger },
      {
        'gitlab.gitops-project': { id: gitops.id, pathWithNamespace: gitops.pathWithNamespace },
        'gitlab.app-project': {
          id: h.world.projects.get('apps/payments-api')!.id,
          pathWithNamespace: 'apps/payments-api',
        },
      },
    );
    expect(gitops.tokens).not.toContain(first);
    expect(gitops.tokens).toHaveLength(1);
    h.cleanup();
  });

  it('stores secrets only in masked GitLab variables: never in logs, outputs or the journal', async () => {
    const h = goldenPathHarness(undefined, undefined, {
      settings: { ...TEST_SETTINGS, ciAuth: 'static-key' },
    });
    await h.run(NAME, 't1');
    const app = h.world.projects.get('apps/payments-api')!;
    expect(h.world.users.get('idp-payments-api-ci')!.boundaryArn).toBe(
      'arn:aws:iam::123456789012:policy/idp-permissions-boundary',
    );
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
      journal: [
        await h.db('golden_path_runs').select(),
        await h.db('golden_path_run_steps').select(),
      ],
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
        const error = await settle(h.run(NAME, `task-${failAt}`, { composition }));
        expect(error?.message).toContain('injected failure');
        expect(error!.message).toMatch(/Rolled back: |nothing was rolled back/);
        orphans.push(
          ...h.world
            .resourcesFor(NAME)
            .map(r => `fail at ${failAt} (${h.world.calls[failAt - 1]}): ${r}`),
        );
        const run = await (await h.ready).store.get(`task-${failAt}`);
        // Failures in the name check come before the run exists.
        expect(run?.state ?? 'rolled_back').toBe('rolled_back');
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
      const db = journalDatabase();
      const a = goldenPathHarness(world, db);
      const b = goldenPathHarness(world, db);
      const results = await Promise.allSettled([
        a.run(NAME, 'task-a', { composition }),
        b.run(NAME, 'task-b', { composition }),
      ]);
      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find(
        r => r.status === 'rejected',
      ) as PromiseRejectedResult;
      expect(failure.reason.message).toMatch(/already taken/);
      expect(world.resourcesFor(NAME).sort()).toEqual(
        (await cleanRun()).resources,
      );
      a.cleanup();
      b.cleanup();
    },
  );

  it.each(['template', 'single'] as const)(
    'finishes without duplicates when another process takes over after a crash at any call (%s)',
    async composition => {
      const { calls, resources } = await cleanRun(composition);
      for (let crashAt = 1; crashAt <= calls; crashAt++) {
        const world = new FakeWorld();
        const db = journalDatabase();
        world.crashAt = crashAt;
        const first = goldenPathHarness(world, db, { leaseMs: 300 });
        void first.run(NAME, 'task-crash', { composition }); // never settles: the process "died"
        while (world.calls.length < crashAt)
          await new Promise(r => setTimeout(r, 1));
        await first.kill();
        world.crashAt = undefined;
        // Task recovery runs the task again on another process.
        const second = goldenPathHarness(world, db, { leaseMs: 300 });
        const error = await settle(second.run(NAME, 'task-crash', { composition }));
        expect({ crashAt, error: error?.message }).toEqual({ crashAt, error: undefined });
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

  it('refuses to retry a rolled-back run, and never touches the service someone else then created under the name', async () => {
    const world = new FakeWorld();
    const db = journalDatabase();
    const first = goldenPathHarness(world, db);
    world.failAt = 30;
    await expect(first.run(NAME, 'task-failed')).rejects.toThrow('Rolled back');
    world.failAt = undefined;
    // Another user creates the name for real, on another process.
    const other = goldenPathHarness(world, db);
    await other.run(NAME, 'task-other');
    const theirs = world.resourcesFor(NAME).sort();
    // The failed task is retried after a restart (a third process).
    const retry = goldenPathHarness(world, db);
    await expect(
      retry.runStep(
        'idp:platform:service:provision',
        { name: NAME, owner: 'group:default/team-a', sourcePath: 'app' },
        'task-failed',
      ),
    ).rejects.toThrow('This run was rolled back after a failure');
    await expect(
      retry.runStep(
        'idp:catalog:entity:register',
        { name: NAME, catalogInfoUrl: `https://gitlab.test/apps/${NAME}/-/blob/main/catalog-info.yaml` },
        'task-failed',
      ),
    ).rejects.toThrow('This run was rolled back after a failure');
    expect(world.resourcesFor(NAME).sort()).toEqual(theirs);
    [first, other, retry].forEach(h => h.cleanup());
  });

  it('deletes nothing when a completed run is retried', async () => {
    const world = new FakeWorld();
    const db = journalDatabase();
    const first = goldenPathHarness(world, db);
    await first.run(NAME, 'task-done');
    const before = world.resourcesFor(NAME).sort();
    const again = goldenPathHarness(world, db);
    world.failAt = world.calls.length + 1; // any external call would fail
    await again.run(NAME, 'task-done');
    expect(world.resourcesFor(NAME).sort()).toEqual(before);
    expect(world.calls.filter(c => /delete|unregister/.test(c))).toEqual([]);
    [first, again].forEach(h => h.cleanup());
  });

  it('rolls back everything when the task is cancelled mid-provision', async () => {
    const h = goldenPathHarness();
    h.world.onCall = call => {
      if (call === 'argocd.ensureProject') h.cancel();
    };
    const error = await settle(h.run(NAME, 'task-cancel'));
    expect(error?.message).toMatch(/^The task was cancelled Rolled back: /);
    expect(h.world.resourcesFor(NAME)).toEqual([]);
    expect((await (await h.ready).store.get('task-cancel'))!.state).toBe('rolled_back');
    h.cleanup();
  });

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

  it('refuses a namespace created between its check and its creation (no check-then-apply race)', async () => {
    const h = goldenPathHarness();
    h.world.onCall = call => {
      if (call === 'kubernetes.createNamespace') {
        h.world.k8s.set(`Namespace//${NAME}`, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: NAME, labels: { team: 'someone-else' } },
        });
      }
    };
    const error = await settle(h.run(NAME, 'task-race'));
    expect(error?.message).toContain(`already taken: Kubernetes namespace ${NAME}`);
    expect((h.world.k8s.get(`Namespace//${NAME}`) as any).metadata.labels).toEqual({
      team: 'someone-else',
    });
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
});
