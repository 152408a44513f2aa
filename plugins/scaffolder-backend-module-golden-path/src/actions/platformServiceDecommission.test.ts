import { mockServices } from '@backstage/backend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import { FakeWorld } from '../__testUtils__/fakeWorld';
import {
  TEST_SETTINGS,
  goldenPathHarness,
  journalDatabase,
} from '../__testUtils__/goldenPathRun';
import { Janitor } from '../janitor/Janitor';
import { DecommissionAuthorizer } from '../lifecycle/authorize';
import {
  RETAINED_STEPS,
  ServiceDecommissions,
} from '../lifecycle/decommission';
import { ServicePlan } from '../plan/ServicePlan';
import { RepositoryMode } from '../lifecycle/retire';
import { SagaEngine } from '../saga/engine';
import { RunStore } from '../saga/RunStore';
import { StepClients, serviceSteps } from '../steps';
import { createPlatformServiceDecommissionAction } from './platformServiceDecommission';

// Each sweep creates a service once per fault point; no timing is asserted.
jest.setTimeout(300_000);

const NAME = 'payments-api';
/** What a decommissioned service keeps: its two archived repositories. */
const KEPT = [
  'gitlab:apps/payments-api',
  'gitlab:platform/gitops/payments-api-gitops',
];

const clientsOf = (world: FakeWorld): StepClients => ({
  gitlab: world.gitlab,
  aws: world.aws,
  argocd: world.argocd,
  kubernetes: world.kubernetes,
  catalog: world.catalog,
});

const settle = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    e => e as Error,
  );

let processes = 0;

/**
 * A world with `NAME` created by the golden path, and one "process" that can
 * decommission it: the real action over the same journal and world.
 */
async function createdService(
  opts: {
    world?: FakeWorld;
    db?: ReturnType<typeof journalDatabase>;
    create?: boolean;
    authorize?: DecommissionAuthorizer;
    repositories?: RepositoryMode;
    leaseMs?: number;
  } = {},
) {
  const world = opts.world ?? new FakeWorld();
  const db = opts.db ?? journalDatabase();
  const h = goldenPathHarness(world, db);
  if (opts.create !== false) await h.run(NAME, 'task-create');
  h.cleanup();
  const logger = mockServices.logger.mock();
  const store = await RunStore.create(db);
  const leaseMs = opts.leaseMs ?? 60_000;
  const engine = new SagaEngine({
    store,
    logger,
    owner: `decommission-process-${++processes}`,
    leaseMs,
    waitForLeaseMs: leaseMs * 4,
    sleep: ms => new Promise(r => setTimeout(r, Math.min(ms, 20))),
  });
  const authorize = jest.fn(opts.authorize ?? (async () => {}));
  const decommissions = new ServiceDecommissions({
    settings: TEST_SETTINGS,
    clients: clientsOf(world),
    store,
    engine,
    authorize,
    repositories: opts.repositories ?? 'archive',
  });
  const action = createPlatformServiceDecommissionAction({ decommissions });
  const outputs: Record<string, any> = {};

  async function decommission(
    input: Record<string, unknown>,
    taskId: string,
    ctxOpts: { isDryRun?: boolean; signal?: AbortSignal } = {},
  ) {
    for (const key of Object.keys(outputs)) delete outputs[key];
    const ctx = {
      ...createMockActionContext({
        input: input as any,
        task: { id: taskId },
        logger: logger as any,
      }),
      logger: logger as any,
      signal: ctxOpts.signal,
      output: (key: string, value: unknown) => {
        outputs[key] = value;
      },
      getInitiatorCredentials: async () => ({
        principal: { type: 'user', userEntityRef: 'user:default/guest' },
      }),
      isDryRun: ctxOpts.isDryRun ?? false,
    };
    await action.handler(ctx as any);
    return { ...outputs };
  }

  const janitor = (status: 'failed' | 'open' = 'failed') =>
    new Janitor({
      store,
      engine,
      clients: clientsOf(world),
      logger,
      taskStatus: async () => status,
      abandonedAfterMs: 0,
      decommissions,
    });

  return {
    world,
    db,
    store,
    engine,
    logger,
    authorize,
    decommission,
    janitor,
    decommissions,
  };
}

/** Everything of the service that is not an archived, emptied repository. */
function leftovers(world: FakeWorld): string[] {
  const left = world.resourcesFor(NAME).filter(r => !KEPT.includes(r));
  for (const path of KEPT.map(k => k.slice('gitlab:'.length))) {
    const p = world.projects.get(path);
    if (!p) {
      left.push(`${path} is gone (it must be kept)`);
      continue;
    }
    if (!p.archived) left.push(`${path} is not archived`);
    if (p.variables.size)
      left.push(`${path} has variables ${[...p.variables.keys()].join(',')}`);
    if (p.tokens.length) left.push(`${path} has active access tokens`);
    if (p.hooks?.length) left.push(`${path} has webhooks`);
  }
  return left;
}

const full = { name: NAME, confirmName: NAME };

describe('idp:platform:service:decommission', () => {
  it('removes everything Create made, keeps the two repositories archived and emptied of credentials, and frees the name claim', async () => {
    const s = await createdService();
    const app = s.world.projects.get('apps/payments-api')!;
    expect(app.variables.size).toBeGreaterThan(0);
    expect(
      s.world.projects.get('platform/gitops/payments-api-gitops')!.tokens
        .length,
    ).toBe(1);
    expect((await s.store.claimOf(NAME))?.taskId).toBe('task-create');

    const out = await s.decommission(full, 'task-dec');

    expect(leftovers(s.world)).toEqual([]);
    expect(s.world.resourcesFor(NAME).sort()).toEqual(KEPT);
    expect(s.world.locations.size).toBe(0);
    expect(out.nothingLeft).toBe(false);
    // Every resource step of Create but the two projects, whatever the steps are.
    const plan = (await s.store.get('task-create'))!
      .plan as unknown as ServicePlan;
    const resourceSteps = serviceSteps(clientsOf(s.world), plan).filter(
      st => st.find && !RETAINED_STEPS.has(st.id),
    );
    expect(resourceSteps.length).toBeGreaterThanOrEqual(6);
    expect([...out.removed].sort()).toEqual(
      resourceSteps.map(st => st.title).sort(),
    );
    expect(out.removed).toEqual(
      expect.arrayContaining([
        'ArgoCD application payments-api',
        'ECR repository payments-api',
      ]),
    );
    expect([...out.kept].sort()).toEqual([
      expect.stringMatching(
        /^GitLab project apps\/payments-api: archived; removed CI\/CD variables .*GITOPS_DEPLOY_TOKEN/,
      ),
      expect.stringMatching(
        /^GitLab project platform\/gitops\/payments-api-gitops: archived; revoked access token /,
      ),
    ]);
    expect(out.left).toEqual([]);
    expect(out.report).toContain('**payments-api** is decommissioned.');
    const run = (await s.store.get('task-dec'))!;
    expect(run).toMatchObject({ kind: 'decommission', state: 'completed' });
    expect(await s.store.claimOf(NAME)).toBeUndefined();
    expect(s.authorize).toHaveBeenCalledTimes(1);
    expect(s.authorize.mock.calls[0][0]).toMatchObject({
      name: NAME,
      entityRef: 'component:default/payments-api',
      entityExists: true,
      owner: 'group:default/team-a',
    });
  });

  it('removes ArgoCD before the namespace, and the catalog entry last', async () => {
    const s = await createdService();
    const from = s.world.calls.length;
    await s.decommission(full, 'task-dec');
    const calls = s.world.calls.slice(from);
    const at = (name: string) => calls.indexOf(name);
    expect(at('argocd.deleteApplication')).toBeGreaterThan(-1);
    expect(at('argocd.deleteApplication')).toBeLessThan(
      at('argocd.deleteProject'),
    );
    expect(at('argocd.deleteProject')).toBeLessThan(at('kubernetes.delete'));
    expect(at('gitlab.archiveProject')).toBeLessThan(at('catalog.unregister'));
    expect(calls.lastIndexOf('gitlab.archiveProject')).toBeLessThan(
      at('catalog.unregister'),
    );
    expect(calls.at(-1)).toBe('catalog.unregister');
  });

  it('reports "nothing left" and succeeds when run again', async () => {
    const s = await createdService();
    await s.decommission(full, 'task-dec-1');
    const before = s.world.calls.length;
    const out = await s.decommission(full, 'task-dec-2');
    expect(out.nothingLeft).toBe(true);
    expect(out.removed).toEqual([]);
    expect(out.report).toContain('Nothing was left of **payments-api**');
    expect([...out.kept].sort()).toEqual([
      'GitLab project apps/payments-api: already archived; nothing left in it',
      'GitLab project platform/gitops/payments-api-gitops: already archived; nothing left in it',
    ]);
    // Only reads.
    const writes = s.world.calls
      .slice(before)
      .filter(
        c => !/\.(find|get|list|namespace|entityExists|userExists)/.test(c),
      );
    expect(writes).toEqual([]);
    expect((await s.store.get('task-dec-2'))!.state).toBe('completed');
  });

  it('replays a completed task without acting again, answering the same report', async () => {
    const s = await createdService();
    const first = await s.decommission(full, 'task-dec');
    const before = s.world.calls.length;
    const again = await s.decommission(full, 'task-dec');
    expect(again).toEqual(first);
    expect(
      s.world.calls
        .slice(before)
        .filter(c => !/\.(find|get|list|entityExists)/.test(c)),
    ).toEqual([]);
  });

  it.each([
    [
      'a different name',
      { confirmName: 'payments-apj' },
      'confirmName must repeat the service name exactly: expected "payments-api", got "payments-apj"',
    ],
    [
      'no confirmation',
      { confirmName: undefined },
      'confirmName must repeat the service name exactly',
    ],
    [
      'a bad repositories value',
      { repositories: 'shred' },
      'repositories must be one of archive, delete',
    ],
  ])('refuses %s before touching anything', async (_what, change, message) => {
    const s = await createdService();
    const before = s.world.calls.length;
    const error = await settle(
      s.decommission({ ...full, ...change }, 'task-dec'),
    );
    expect(error?.message).toContain(message);
    expect(s.world.calls.length).toBe(before);
    expect(await s.store.get('task-dec')).toBeUndefined();
  });

  it('refuses a user the permission policy does not allow, with nothing touched and nothing journaled', async () => {
    const s = await createdService({
      authorize: async () => {
        throw new NotAllowedError(
          'You (user:default/bob) may not decommission payments-api',
        );
      },
    });
    const before = s.world.resourcesFor(NAME).sort();
    const writesBefore = s.world.calls.length;
    const error = await settle(s.decommission(full, 'task-dec'));
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(s.world.resourcesFor(NAME).sort()).toEqual(before);
    expect(
      s.world.calls
        .slice(writesBefore)
        .filter(c => !/\.(find|get|list|entityExists)/.test(c)),
    ).toEqual([]);
    expect(await s.store.get('task-dec')).toBeUndefined();
    expect(s.world.projects.get('apps/payments-api')!.archived).toBeFalsy();
  });

  it('leaves a lookalike without the marker alone and says why', async () => {
    const s = await createdService();
    // Someone replaced the service's ECR repository with their own of the same name.
    s.world.repositories.set(NAME, {
      ...s.world.repositories.get(NAME)!,
      tags: { [RUN_MARKER_KEY]: 'someone-else', team: 'other' },
    });
    const out = await s.decommission(full, 'task-dec');
    expect(s.world.repositories.get(NAME)?.tags.team).toBe('other');
    expect(out.left).toEqual([
      "ECR repository payments-api: not made by this service's Create (it does not carry its run marker)",
    ]);
    expect(out.report).toContain('### Left alone');
    expect(out.removed).not.toContain('ECR repository payments-api');
    expect(leftovers(s.world)).toEqual(['ecr:payments-api']);
  });

  it('lists what it would do in a dry run and changes nothing', async () => {
    const s = await createdService();
    const snapshot = JSON.stringify(s.world.resourcesFor(NAME).sort());
    const before = s.world.calls.length;
    const out = await s.decommission({ ...full, dryRun: true }, 'task-preview');
    expect(out.report).toContain(
      'Dry run: this is what decommissioning **payments-api** would do. Nothing was changed.',
    );
    expect(out.report).toContain('### Would remove');
    expect(out.removed).toEqual(
      expect.arrayContaining([
        'ECR repository payments-api',
        'ArgoCD application payments-api',
      ]),
    );
    expect(out.kept).toContainEqual(
      expect.stringMatching(
        /^GitLab project apps\/payments-api: would be archived; would remove CI\/CD variables /,
      ),
    );
    expect(JSON.stringify(s.world.resourcesFor(NAME).sort())).toBe(snapshot);
    const writes = s.world.calls
      .slice(before)
      .filter(c => !/\.(find|get|list|namespace|entityExists)/.test(c));
    expect(writes).toEqual([]);
    expect(await s.store.get('task-preview')).toBeUndefined();
    expect(s.authorize).toHaveBeenCalledTimes(1);
  });

  it('lists the resources it would look at in the template editor without calling anything', async () => {
    const s = await createdService();
    const before = s.world.calls.length;
    const out = await s.decommission(full, 'task-editor', { isDryRun: true });
    expect(s.world.calls.length).toBe(before);
    expect(out.removed).toEqual(
      expect.arrayContaining([
        'ECR repository payments-api',
        'ArgoCD project payments-api',
      ]),
    );
    expect(out.kept).toHaveLength(2);
    expect(s.authorize).not.toHaveBeenCalled();
  });

  it('with repositories: delete, archives the repositories and schedules their deletion', async () => {
    const s = await createdService({ repositories: 'delete' });
    const out = await s.decommission(full, 'task-dec');
    for (const path of KEPT.map(k => k.slice('gitlab:'.length))) {
      expect(s.world.projects.get(path)).toMatchObject({
        archived: true,
        markedForDeletionOn: expect.any(String),
      });
    }
    expect(out.kept[0]).toContain('scheduled for deletion');
    expect(out.report).toContain("scheduled for GitLab's delayed deletion");
  });

  it('refuses a name that is not a golden-path service, touching nothing', async () => {
    const s = await createdService();
    const before = s.world.calls.length;
    const error = await settle(
      s.decommission(
        { name: 'orders-api', confirmName: 'orders-api' },
        'task-dec',
      ),
    );
    expect(error?.message).toContain(
      'orders-api is not a golden-path service of this portal',
    );
    expect(
      s.world.calls
        .slice(before)
        .filter(c => !/\.(find|get|list|entityExists)/.test(c)),
    ).toEqual([]);
  });

  it('finds the service by the marker on its catalog entity when the journal does not know it', async () => {
    const world = new FakeWorld();
    await createdService({ world });
    // A fresh journal (e.g. another portal's database): only the catalog knows the marker.
    const s = await createdService({
      world,
      db: journalDatabase(),
      create: false,
    });
    expect(await s.store.completedCreateOf(NAME)).toBeUndefined();
    const out = await s.decommission(full, 'task-dec');
    expect(leftovers(world)).toEqual([]);
    expect(out.removed).toEqual(
      expect.arrayContaining([
        'ECR repository payments-api',
        'ArgoCD application payments-api',
      ]),
    );
    expect(s.authorize.mock.calls[0][0]).toMatchObject({ entityExists: true });
  });

  it('decommissions a service whose entity was unregistered by hand, checking the owner Create recorded', async () => {
    const s = await createdService();
    s.world.locations.clear();
    const out = await s.decommission(full, 'task-dec');
    expect(s.authorize.mock.calls[0][0]).toMatchObject({
      entityExists: false,
      owner: 'group:default/team-a',
    });
    expect(leftovers(s.world)).toEqual([]);
    expect(out.removed).toContain('ECR repository payments-api');
  });

  it('refuses a second decommission of the name while one is being worked on', async () => {
    const s = await createdService();
    // The first one holds its lease (its process is busy removing things).
    await s.store.startUnclaimed({
      taskId: 'task-busy',
      serviceName: NAME,
      kind: 'decommission',
      marker: 'm-busy',
      plan: {},
    });
    expect(await s.store.acquire('task-busy', 'someone', 60_000)).toBe(true);
    const error = await settle(s.decommission(full, 'task-dec'));
    expect(error?.message).toContain(
      'A decommission of payments-api is in progress (task task-busy)',
    );
  });

  it('tries a step again after a transient failure, re-reading first', async () => {
    const s = await createdService();
    let dropped = 0;
    s.world.onCall = call => {
      if (call === 'aws.deleteRepository' && dropped++ === 0) {
        throw new Error('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
    };
    await s.decommission(full, 'task-dec');
    expect(dropped).toBe(2);
    expect(leftovers(s.world)).toEqual([]);
    expect(s.logger.warn.mock.calls.map(c => String(c[0]))).toContainEqual(
      expect.stringMatching(/^ECR repository payments-api: fetch failed \(transient\); trying again/),
    );
  });

  it('stops at a cancelled task, and a re-run finishes what is left', async () => {
    const s = await createdService();
    const abort = new AbortController();
    s.world.onCall = name => {
      if (name === 'aws.deleteRepository') abort.abort();
    };
    const error = await settle(
      s.decommission(full, 'task-dec', { signal: abort.signal }),
    );
    expect(error?.message).toContain('The task was cancelled');
    expect(error?.message).toContain('Run Decommission again to finish it');
    expect(leftovers(s.world).length).toBeGreaterThan(0);
    s.world.onCall = undefined;
    await s.decommission(full, 'task-dec');
    expect(leftovers(s.world)).toEqual([]);
  });
});

/** Calls a clean decommission makes after Create (read and write), to sweep over. */
async function decommissionCalls() {
  const s = await createdService();
  const from = s.world.calls.length;
  await s.decommission(full, 'task-dec');
  return { from, calls: s.world.calls.slice(from) };
}

describe('decommission fault sweep', () => {
  it.each([
    'the same task again (task recovery)',
    'a new Decommission',
    'the janitor',
  ] as const)(
    'fails at every external call in turn, and %s finishes it',
    async finisher => {
      const { from, calls } = await decommissionCalls();
      const problems: string[] = [];
      for (let k = 1; k <= calls.length; k++) {
        const s = await createdService();
        expect(s.world.calls.length).toBe(from);
        s.world.failAt = from + k;
        const error = await settle(s.decommission(full, 'task-dec'));
        const point = `fail at ${k} (${calls[k - 1]})`;
        if (!error?.message.includes('injected failure')) {
          problems.push(
            `${point}: expected the injected failure, got ${
              error?.message ?? 'success'
            }`,
          );
          continue;
        }
        s.world.failAt = undefined;
        const run = await s.store.get('task-dec');
        if (finisher === 'the janitor' && run) {
          const report = await s.janitor().sweep();
          if (!report.completed.includes('task-dec'))
            problems.push(
              `${point}: janitor did not finish it: ${JSON.stringify(report)}`,
            );
        } else {
          await s.decommission(
            full,
            finisher === 'a new Decommission' ? 'task-dec-2' : 'task-dec',
          );
        }
        problems.push(...leftovers(s.world).map(l => `${point}: ${l}`));
        if (s.world.locations.size)
          problems.push(`${point}: catalog entry left`);
        if (await s.store.claimOf(NAME))
          problems.push(`${point}: name claim not released`);
        const unfinished = [
          ...(await s.store.runsOf(NAME, 'decommission')),
        ].filter(r => r.state !== 'completed');
        if (unfinished.length)
          problems.push(
            `${point}: unfinished runs ${unfinished
              .map(r => `${r.taskId}=${r.state}`)
              .join(',')}`,
          );
      }
      // eslint-disable-next-line no-console
      console.log(
        `decommission fault sweep (${finisher}): ${calls.length} fault points, ${problems.length} problems`,
      );
      expect(problems).toEqual([]);
    },
  );

  it('a process that dies in the middle of a call leaves a run the next attempt of the task finishes', async () => {
    const { from, calls } = await decommissionCalls();
    const problems: string[] = [];
    // Every write (a read that never answers changes nothing).
    const writes = calls
      .map((c, i) => [c, i + 1] as const)
      .filter(
        ([c]) => !/\.(find|get|list|namespace|entityExists|userExists)/.test(c),
      );
    for (const [call, k] of writes) {
      const world = new FakeWorld();
      const db = journalDatabase();
      const dead = await createdService({ world, db, leaseMs: 100 });
      world.crashAt = from + k;
      void dead.decommission(full, 'task-dec').catch(() => undefined);
      while (world.calls.length < from + k)
        await new Promise(r => setTimeout(r, 1));
      dead.engine.dispose();
      world.crashAt = undefined;
      const next = await createdService({
        world,
        db,
        create: false,
        leaseMs: 100,
      });
      await next.decommission(full, 'task-dec');
      problems.push(
        ...leftovers(world).map(l => `crash at ${k} (${call}): ${l}`),
      );
    }
    // eslint-disable-next-line no-console
    console.log(
      `decommission crash sweep: ${writes.length} crash points, ${problems.length} problems`,
    );
    expect(problems).toEqual([]);
  });
});
