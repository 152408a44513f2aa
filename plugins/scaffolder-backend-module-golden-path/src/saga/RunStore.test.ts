import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { NameClaimedError, RunStore } from './RunStore';

jest.setTimeout(60_000);

// The journal runs on SQLite locally and PostgreSQL in production: every
// behaviour is checked on both, against the machine's real PostgreSQL.
const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const run = (taskId: string, serviceName = 'payments-api') => ({
  taskId,
  serviceName,
  kind: 'create' as const,
  marker: `marker-${taskId}`,
  createdBy: 'user:default/alice',
  plan: { request: { name: serviceName } },
});

describe.each(databases.eachSupportedId())('RunStore on %s', (id: TestDatabaseId) => {
  async function store(now = () => Date.now()) {
    const knex = await databases.init(id);
    return { store: await RunStore.create(knex, now), knex };
  }

  it('migrates twice without complaint, with its own migrations table', async () => {
    const { knex } = await store();
    await RunStore.create(knex);
    expect(await knex.schema.hasTable('golden_path_knex_migrations')).toBe(true);
    expect(await knex.schema.hasTable('golden_path_runs')).toBe(true);
  });

  it('starts a run once per task and returns it on replay', async () => {
    const { store: s } = await store();
    const first = await s.start(run('t1'));
    expect(first).toMatchObject({ taskId: 't1', state: 'running', marker: 'marker-t1' });
    expect(first.plan).toEqual({ request: { name: 'payments-api' } });
    const again = await s.start({ ...run('t1'), marker: 'other' });
    expect(again.marker).toBe('marker-t1');
  });

  it('lets exactly one of many concurrent runs claim a name', async () => {
    const { store: s } = await store();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => s.start(run(`t${i}`))),
    );
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter(x => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(NameClaimedError);
    }
  });

  it('frees the name when a run is rolled back, and keeps it when completed', async () => {
    const { store: s } = await store();
    await s.start(run('a'));
    await expect(s.start(run('b'))).rejects.toThrow(NameClaimedError);
    expect(await s.transition('a', ['running'], 'rolled_back')).toBe(true);
    await s.start(run('b'));
    await s.transition('b', ['running'], 'completed');
    await expect(s.start(run('c'))).rejects.toThrow('claimed by run b');
    expect((await s.claimOf('payments-api'))?.taskId).toBe('b');
  });

  it('never moves a completed run back', async () => {
    const { store: s } = await store();
    await s.start(run('done'));
    await s.transition('done', ['running'], 'completed');
    expect(await s.transition('done', ['running', 'needs_attention'], 'rolling_back')).toBe(false);
    expect((await s.get('done'))!.state).toBe('completed');
  });

  it('gives the lease to one holder until it expires', async () => {
    let now = 1_000_000;
    const { store: s } = await store(() => now);
    await s.start(run('l'));
    expect(await s.acquire('l', 'p1', 1000)).toBe(true);
    expect(await s.acquire('l', 'p2', 1000)).toBe(false);
    expect(await s.acquire('l', 'p1', 1000)).toBe(true); // renewal
    now += 1500;
    expect(await s.acquire('l', 'p2', 1000)).toBe(true); // p1 died
    await s.release('l', 'p2');
    expect(await s.acquire('l', 'p3', 1000)).toBe(true);
  });

  it('journals step states and resources, and lists unattended runs', async () => {
    let now = 5_000_000;
    const { store: s } = await store(() => now);
    await s.start(run('j'));
    await s.setStep('j', 'gitlab.app-project', 'started');
    await s.setStep('j', 'gitlab.app-project', 'done', { resource: { id: 7 } });
    await s.setStep('j', 'gitlab.app-project', 'undo_failed', { error: 'boom' });
    expect(await s.steps('j')).toEqual([
      expect.objectContaining({
        step: 'gitlab.app-project',
        state: 'undo_failed',
        resource: { id: 7 },
        error: 'boom',
      }),
    ]);
    await s.acquire('j', 'p1', 1000);
    expect((await s.unattended()).map(r => r.taskId)).toEqual([]);
    now += 2000;
    expect((await s.unattended()).map(r => r.taskId)).toEqual(['j']);
  });
});
