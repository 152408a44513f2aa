import { mockServices } from '@backstage/backend-test-utils';
import { RUN_MARKER_KEY } from '@internal/plugin-golden-path-common';
import { FakeWorld } from '../__testUtils__/fakeWorld';
import {
  goldenPathHarness,
  journalDatabase,
} from '../__testUtils__/goldenPathRun';
import { SagaEngine } from '../saga/engine';
import { RunStore } from '../saga/RunStore';
import { Janitor, TaskStatus } from './Janitor';

jest.setTimeout(60_000);

const NAME = 'payments-api';

/** The 1-based index of the call after which the ECR repository exists, in a clean run. */
async function afterEcrRepository(): Promise<number> {
  const h = goldenPathHarness();
  await h.run(NAME, 'task-probe');
  h.cleanup();
  return h.world.calls.indexOf('aws.createRepository') + 2;
}

/** A run that crashed after `calls` external calls, left for the janitor. */
async function crashedRun(at?: number) {
  const crashAfter = at ?? (await afterEcrRepository());
  const world = new FakeWorld();
  const db = journalDatabase();
  world.crashAt = crashAfter;
  const dead = goldenPathHarness(world, db, { leaseMs: 100 });
  void dead.run(NAME, 'task-dead');
  while (world.calls.length < crashAfter) await new Promise(r => setTimeout(r, 1));
  await dead.kill();
  world.crashAt = undefined;
  await new Promise(r => setTimeout(r, 150)); // the lease runs out
  return { world, db, dead };
}

async function janitorFor(
  world: FakeWorld,
  db: ReturnType<typeof journalDatabase>,
  status: Record<string, TaskStatus>,
  opts: { abandonedAfterMs?: number; now?: () => number } = {},
) {
  const logger = mockServices.logger.mock();
  const store = await RunStore.create(db);
  const engine = new SagaEngine({ store, logger, owner: 'janitor', leaseMs: 1000 });
  const janitor = new Janitor({
    store,
    engine,
    logger,
    clients: {
      gitlab: world.gitlab,
      aws: world.aws,
      argocd: world.argocd,
      kubernetes: world.kubernetes,
      catalog: world.catalog,
    },
    taskStatus: async taskId => status[taskId] ?? 'gone',
    abandonedAfterMs: opts.abandonedAfterMs ?? 0,
    now: opts.now,
  });
  return { janitor, store, logger };
}

describe('Janitor', () => {
  it('removes the marked leftovers of an abandoned run and never an unmarked lookalike', async () => {
    const { world, db, dead } = await crashedRun();
    expect(world.resourcesFor(NAME).length).toBeGreaterThan(0);
    // Someone else's repository with the same name appeared meanwhile (its
    // tags are not this run's): the janitor must not touch it.
    const repo = world.repositories.get(NAME)!;
    expect(repo).toBeDefined();
    repo.tags = { [RUN_MARKER_KEY]: 'someone-else' };
    const { janitor, store, logger } = await janitorFor(world, db, { 'task-dead': 'failed' });
    const report = await janitor.sweep();
    expect(report.rolledBack).toEqual(['task-dead']);
    const left = world.resourcesFor(NAME);
    expect(left).toEqual(['ecr:payments-api']);
    expect((await store.get('task-dead'))!.state).toBe('rolled_back');
    expect(logger.info).toHaveBeenCalledWith(
      expect.stringMatching(/golden-path janitor: removed GitLab project apps\/payments-api of run task-dead/),
    );
    dead.cleanup();
  });

  it('leaves a run alone while its task is open or processing (task recovery owns it)', async () => {
    const { world, db, dead } = await crashedRun();
    const before = world.resourcesFor(NAME).sort();
    for (const status of ['open', 'processing'] as const) {
      const { janitor } = await janitorFor(world, db, { 'task-dead': status });
      expect((await janitor.sweep()).skipped).toEqual(['task-dead']);
    }
    expect(world.resourcesFor(NAME).sort()).toEqual(before);
    dead.cleanup();
  });

  it('waits until an ended run has made no progress for the configured time', async () => {
    const { world, db, dead } = await crashedRun();
    const before = world.resourcesFor(NAME).sort();
    const { janitor } = await janitorFor(world, db, { 'task-dead': 'cancelled' }, {
      abandonedAfterMs: 10 * 60_000,
    });
    expect((await janitor.sweep()).skipped).toEqual(['task-dead']);
    expect(world.resourcesFor(NAME).sort()).toEqual(before);
    dead.cleanup();
  });

  it('never touches a completed service, and completes a run whose task completed', async () => {
    const world = new FakeWorld();
    const db = journalDatabase();
    const h = goldenPathHarness(world, db);
    await h.run(NAME, 'task-done');
    const before = world.resourcesFor(NAME).sort();
    // A second run of another name whose task completed without a register step.
    const other = goldenPathHarness(world, db, { leaseMs: 100 });
    await other.runStep(
      'idp:platform:service:provision',
      { name: 'orders', owner: 'group:default/a', sourcePath: 'app' },
      'task-no-register',
    );
    await new Promise(r => setTimeout(r, 150));
    const { janitor, store } = await janitorFor(world, db, {
      'task-done': 'completed',
      'task-no-register': 'completed',
    });
    const report = await janitor.sweep();
    expect(report.completed).toEqual(['task-no-register']);
    expect((await store.get('task-no-register'))!.state).toBe('completed');
    expect(world.resourcesFor(NAME).sort()).toEqual(before);
    expect(world.resourcesFor('orders').length).toBeGreaterThan(0);
    expect(world.calls.filter(c => /delete|unregister/.test(c))).toEqual([]);
    h.cleanup();
    other.cleanup();
  });

  it('retries a run that needs attention and lists what it still cannot remove', async () => {
    const { world, db, dead } = await crashedRun();
    // The first sweep cannot delete the GitLab projects.
    const realDelete = world.gitlab.deleteProject;
    (world.gitlab as any).deleteProject = async () => {
      throw new Error('403 Forbidden');
    };
    const first = await janitorFor(world, db, { 'task-dead': 'failed' });
    const report = await first.janitor.sweep();
    expect(report.removeByHand.map(r => r.resource)).toContain('GitLab project apps/payments-api');
    expect(first.logger.error).toHaveBeenCalledWith(
      expect.stringMatching(/remove by hand: GitLab project apps\/payments-api of run task-dead \(payments-api\): 403 Forbidden/),
    );
    expect((await first.store.get('task-dead'))!.state).toBe('needs_attention');
    // Access is fixed; the next sweep finishes the job.
    (world.gitlab as any).deleteProject = realDelete;
    const second = await janitorFor(world, db, { 'task-dead': 'failed' });
    expect((await second.janitor.sweep()).rolledBack).toEqual(['task-dead']);
    expect(world.resourcesFor(NAME)).toEqual([]);
    dead.cleanup();
  });
});
