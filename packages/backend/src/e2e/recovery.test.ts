import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaultRule, RunningSandbox } from '@internal/sandbox';
import {
  Portal,
  argoSyncStatus,
  dropDatabases,
  COMPLETE_SERVICE_RESOURCES,
  sandboxResourcesFor,
  startPortal,
  startTestSandbox,
} from '../__testUtils__/portal';

// Two backend processes sharing one PostgreSQL database and one sandbox, as
// replicas do: crashes (SIGKILL) at distinct external calls, retries,
// cancellation, a janitor, and concurrent Creates spread over both.
jest.setTimeout(30 * 60_000);

const PREFIX = `idp_e2e_${process.pid}_${Date.now() % 100000}_`;
/** Short timeouts so recovery happens within seconds (defaults are 30 s / 60 s / 5 min). */
const FAST = {
  scaffolder: { taskRecovery: { enabled: true, staleTimeout: { seconds: 3 } } },
  goldenPath: {
    runs: { leaseSeconds: 5, janitor: { intervalSeconds: 5, abandonedAfterMinutes: 0 } },
  },
};

let dir: string;
let sandbox: RunningSandbox;
let a: Portal;
let b: Portal;
let serial = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid % 1000}-${++serial}`;

const form = (name: string) => ({
  name,
  owner: 'group:default/team-payments',
  description: 'Recovery test service',
  port: 3000,
  replicas: 2,
});

const faults = (rules: FaultRule[]) =>
  fetch(`${sandbox.urls.gitlab}/__admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rules }),
  });
const clearFaults = () => fetch(`${sandbox.urls.gitlab}/__admin/faults`, { method: 'DELETE' });

/** Waits until the sandbox holds a hung `operation` (its effect done, no answer sent). */
async function waitForHang(service: string, operation: string, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { hung } = await (await fetch(`${sandbox.urls.gitlab}/__admin/log`)).json();
    if (hung.some((h: any) => h.service === service && h.operation === operation)) return;
    if (Date.now() > end) throw new Error(`never saw ${service} ${operation}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

/** Complete (catalog entity, Synced application, every resource) or nothing at all. */
async function outcomeOf(portal: Portal, name: string) {
  const left = await sandboxResourcesFor(sandbox, name);
  const entity = (await portal.api(`/api/catalog/entities/by-name/component/default/${name}`)).status === 200;
  const sync = await argoSyncStatus(sandbox, name);
  if (left.length === 0 && !entity) return 'nothing';
  if (left.length === COMPLETE_SERVICE_RESOURCES && entity && sync === 'Synced') return 'complete';
  return `HALF-MADE: ${left.join(', ')}${entity ? ', catalog entity' : ''}, sync ${sync}`;
}

async function waitForEntity(portal: Portal, name: string) {
  for (let i = 0; i < 120; i++) {
    if ((await portal.api(`/api/catalog/entities/by-name/component/default/${name}`)).status === 200) return;
    await new Promise(r => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-recovery-'));
  sandbox = await startTestSandbox(dir);
  const database = { client: 'pg' as const, prefix: PREFIX };
  // One after the other: the first runs every plugin's migrations.
  a = await startPortal({ sandbox, database, config: FAST });
  b = await startPortal({ sandbox, database, config: FAST });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await sandbox?.close();
  await dropDatabases(PREFIX).catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await clearFaults();
});

describe('provisioning survives crashes, retries, cancels and replicas', () => {
  // The backend dies after each of these calls has taken effect, before it
  // gets the answer: at least one in each branch of the saga.
  const crashPoints: Array<[string, FaultRule]> = [
    ['GitLab: app project created', { service: 'gitlab', operation: 'POST /api/v4/projects', hang: 'after' }],
    ['GitLab: GitOps manifests pushed', { service: 'gitlab', operation: 'POST /api/v4/projects/:id/repository/commits', hang: 'after', failNth: 2 }],
    ['AWS: ECR repository created', { service: 'aws', operation: 'CreateRepository', hang: 'after' }],
    ['AWS: IAM policy created', { service: 'aws', operation: 'CreatePolicy', hang: 'after' }],
    ['ArgoCD: application created', { service: 'argocd', operation: 'POST /api/v1/applications', hang: 'after' }],
    ['Kubernetes: namespace created', { service: 'kubernetes', operation: 'POST namespaces', hang: 'after' }],
  ];

  it('ends every Create killed mid-provision either complete or with nothing at all', async () => {
    const table: string[] = [];
    let victim = a;
    let survivor = b;
    let restarting: Promise<void> | undefined;
    for (const [label, rule] of crashPoints) {
      await restarting;
      const name = uniqueName('crash');
      await faults([{ ...rule, match: name }]);
      const id = await victim.createService(form(name));
      await waitForHang(rule.service!, rule.operation!);
      await victim.kill();
      await clearFaults();
      const started = Date.now();
      // The other replica recovers the task (or the janitor cleans up).
      const task = await survivor.waitForTask(id, 180_000);
      if (task.status === 'completed') await waitForEntity(survivor, name);
      const outcome = await outcomeOf(survivor, name);
      table.push(
        `| ${label} | ${task.status} | ${outcome} | ${((Date.now() - started) / 1000).toFixed(0)} s |`,
      );
      expect({ label, outcome }).toEqual({
        label,
        outcome: expect.stringMatching(/^(complete|nothing)$/),
      });
      // The killed replica comes back while the next point runs on the other.
      const killed = victim;
      restarting = killed.restart();
      victim = survivor;
      survivor = killed;
      await restarting;
    }
    // eslint-disable-next-line no-console
    console.log(
      ['| crash after | task | sandbox | recovered in |', '| --- | --- | --- | --- |', ...table].join('\n'),
    );
  });

  it('refuses to retry a rolled-back run, after a restart, without touching the service another user made under its name', async () => {
    const name = uniqueName('retry');
    await faults([{ service: 'aws', operation: 'CreatePolicy', status: 403, match: name }]);
    const failed = await a.waitForTask(await a.createService(form(name)));
    expect(failed.status).toBe('failed');
    expect(failed.message).toContain('Rolled back');
    await clearFaults();
    const other = await b.waitForTask(await b.createService(form(name)));
    expect(other.status).toBe('completed');
    await waitForEntity(b, name);
    const theirs = (await sandboxResourcesFor(sandbox, name)).sort();
    expect(theirs).toHaveLength(COMPLETE_SERVICE_RESOURCES);
    await a.restart();
    const retry = await a.api(`/api/scaffolder/v2/tasks/${failed.id}/retry`, { method: 'POST', body: '{}' });
    expect(retry.status).toBeLessThan(300);
    const again = await a.waitForTask(failed.id);
    expect(again.status).toBe('failed');
    expect(again.log.join('\n')).toContain('This run was rolled back after a failure');
    expect((await sandboxResourcesFor(sandbox, name)).sort()).toEqual(theirs);
    expect(await outcomeOf(b, name)).toBe('complete');
  });

  it('rolls back everything when a Create is cancelled mid-provision', async () => {
    const name = uniqueName('cancel');
    // Hold the ArgoCD application before it takes effect, so the cancel lands mid-provision.
    await faults([{ service: 'argocd', operation: 'POST /api/v1/applications', hang: 'before', match: name }]);
    const id = await a.createService(form(name));
    await waitForHang('argocd', 'POST /api/v1/applications');
    const cancel = await a.api(`/api/scaffolder/v2/tasks/${id}/cancel`, { method: 'POST', body: '{}' });
    expect(cancel.status).toBeLessThan(300);
    // The scaffolder delivers the cancel to the running action within about a
    // second; release the held request only once the run has seen it.
    const end = Date.now() + 60_000;
    while (!(await a.taskLog(id)).some(l => l.includes('The task was cancelled: waiting for'))) {
      if (Date.now() > end) throw new Error('the run never saw the cancel');
      await new Promise(r => setTimeout(r, 200));
    }
    // Release the held request: the step in flight settles, then the rollback runs.
    await clearFaults();
    const task = await a.waitForTask(id);
    expect(task.status).not.toBe('completed');
    expect(task.log.join('\n')).toContain('The task was cancelled Rolled back');
    expect(await sandboxResourcesFor(sandbox, name)).toEqual([]);
  });

  it('deletes nothing when a completed task is retried', async () => {
    const name = uniqueName('done');
    const done = await a.waitForTask(await a.createService(form(name)));
    expect(done.status).toBe('completed');
    const before = (await sandboxResourcesFor(sandbox, name)).sort();
    const retry = await b.api(`/api/scaffolder/v2/tasks/${done.id}/retry`, { method: 'POST', body: '{}' });
    expect(retry.status).toBeLessThan(300);
    const again = await b.waitForTask(done.id);
    expect(again.status).toBe('completed');
    await waitForEntity(b, name);
    expect((await sandboxResourcesFor(sandbox, name)).sort()).toEqual(before);
    expect(await outcomeOf(b, name)).toBe('complete');
  });

  it('has the janitor remove what a killed Create made when task recovery is off, and nothing else', async () => {
    // A platform that keeps task recovery off: the scaffolder closes the dead
    // task as stale, and the janitor rolls its run back. One portal on its
    // own SQLite database, restarted over the same files.
    const c = await startPortal({
      sandbox,
      config: {
        scaffolder: {
          taskRecovery: { enabled: false },
          taskTimeout: { seconds: 10 },
          taskTimeoutJanitorFrequency: { seconds: 5 },
        },
        goldenPath: { runs: { leaseSeconds: 5, janitor: { intervalSeconds: 5, abandonedAfterMinutes: 0 } } },
      },
    });
    try {
      const name = uniqueName('janitor');
      // A completed service and an unmarked lookalike must survive the sweep.
      const kept = uniqueName('kept');
      expect((await c.waitForTask(await c.createService(form(kept)))).status).toBe('completed');
      const keptBefore = (await sandboxResourcesFor(sandbox, kept)).sort();
      await faults([{ service: 'aws', operation: 'CreatePolicy', hang: 'after', match: name }]);
      const id = await c.createService(form(name));
      await waitForHang('aws', 'CreatePolicy');
      await c.kill();
      await clearFaults();
      expect((await sandboxResourcesFor(sandbox, name)).length).toBeGreaterThan(0);
      await c.restart();
      const task = await c.waitForTask(id, 120_000);
      expect(task.status).toBe('failed');
      const end = Date.now() + 120_000;
      while ((await sandboxResourcesFor(sandbox, name)).length && Date.now() < end) {
        await new Promise(r => setTimeout(r, 1000));
      }
      expect(await sandboxResourcesFor(sandbox, name)).toEqual([]);
      expect((await sandboxResourcesFor(sandbox, kept)).sort()).toEqual(keptBefore);
      // Which resources the run had made when it was killed depends on the
      // order its parallel steps ran in; the janitor names what it removed.
      expect(c.backend.output()).toMatch(
        new RegExp(`golden-path janitor: removed [^\\n]*${name} of run ${id}`),
      );
    } finally {
      await c.close();
    }
  });

  it('lets exactly one of ten concurrent Creates of one name, spread over both replicas, make a service', async () => {
    const name = uniqueName('race');
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).createService(form(name))),
    );
    const results = await Promise.all(ids.map((id, i) => (i % 2 ? a : b).waitForTask(id, 300_000)));
    const completed = results.filter(r => r.status === 'completed');
    expect(completed).toHaveLength(1);
    for (const f of results.filter(r => r.status !== 'completed')) {
      expect(f.message).toContain(`Service name "${name}" is already taken`);
    }
    await waitForEntity(a, name);
    expect(await outcomeOf(a, name)).toBe('complete');
  });
});
