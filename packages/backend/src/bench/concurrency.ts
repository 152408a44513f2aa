/* eslint-disable no-console */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
// eslint-disable-next-line no-restricted-imports
import { Portal } from '../__testUtils__/portal';
import { form, sandboxAdmin } from './harness';
import { BenchOptions, cpuSnapshot, heading, median, ms, note, percentile, plain, ratio, sleep, Summary, table } from './lib';

type Admin = ReturnType<typeof sandboxAdmin>;

interface Timed {
  id: string;
  name: string;
  /** POST sent. */
  created: number;
  /** Seen processing (claimed by a worker): [last poll sent before, first poll answered after]. */
  claimed?: [number, number];
  /** Seen finished. */
  finished?: [number, number];
  status?: string;
}

const mid = (b: [number, number] | undefined) => (b ? (b[0] + b[1]) / 2 : NaN);
const latency = (t: Timed) => mid(t.finished) - t.created;
const queueWait = (t: Timed) => mid(t.claimed) - t.created;

/**
 * Watches tasks through one list request per poll (open and processing
 * tasks): a task that leaves the list has finished (one more request reads
 * its status). Cheaper for a busy backend than polling each task. A busy
 * backend also answers polls late: each time is the middle of the bracket
 * between the last poll that had not seen the change and the first that had.
 */
async function watch(portal: Portal, tasks: Timed[], pollMs = 100, timeoutMs = 900_000): Promise<number[]> {
  const started = Date.now();
  const pending = new Set(tasks.map(t => t.id));
  const byId = new Map(tasks.map(t => [t.id, t]));
  const pollTimes: number[] = [];
  let lastSent = Math.min(...tasks.map(t => t.created));
  while (pending.size) {
    if (Date.now() - started > timeoutMs) throw new Error(`${pending.size} tasks still running after ${timeoutMs} ms`);
    const sent = Date.now();
    const res = await portal.api('/api/scaffolder/v2/tasks?status=open&status=processing&limit=500');
    const received = Date.now();
    pollTimes.push(received - sent);
    if (res.ok) {
      const { tasks: live } = (await res.json()) as { tasks: { id: string; status: string }[] };
      const liveStatus = new Map(live.map(t => [t.id, t.status]));
      for (const id of [...pending]) {
        const t = byId.get(id)!;
        const status = liveStatus.get(id);
        if (status === 'processing' && !t.claimed) t.claimed = [lastSent, received];
        if (status === undefined) {
          const final = await (await portal.api(`/api/scaffolder/v2/tasks/${id}`)).json();
          t.finished = [lastSent, received];
          t.claimed ??= [lastSent, received];
          t.status = final.status;
          pending.delete(id);
        }
      }
    }
    lastSent = sent;
    await sleep(pollMs);
  }
  return pollTimes;
}

async function createAll(portal: Portal, names: string[]): Promise<Timed[]> {
  return Promise.all(
    names.map(async name => {
      const created = Date.now();
      const id = await portal.createService(form(name));
      return { id, name, created };
    }),
  );
}

export async function concurrencySection(
  portal: Portal,
  admin: Admin,
  uniqueName: (p: string) => string,
  o: BenchOptions,
  summary: Summary,
  tasksLimit: string,
): Promise<void> {
  heading(`1. Concurrency: ${o.concurrent} concurrent Creates vs one alone`);
  note(`Portal: the real backend from source (app-config.yaml), ${o.db === 'pg' ? 'PostgreSQL' : 'SQLite'}; ` +
    `sandbox ${o.concDelayMs ? `with ${o.concDelayMs} ms on every call (--conc-delay-ms)` : 'without injected latency'}.`);
  note(`scaffolder.concurrentTasksLimit: ${tasksLimit}`);
  note('Latency = POST /v2/tasks sent -> task seen finished; queue wait = sent -> seen processing (task list polled).');

  await admin.clear();
  if (o.concDelayMs) await admin.delayEverything(o.concDelayMs);
  const backendPid = portal.backend.child.pid;
  try {
    const singles: Timed[] = [];
    const cpu0 = cpuSnapshot(backendPid);
    for (let i = 0; i < o.singles; i++) {
      const [t] = await createAll(portal, [uniqueName('conc-single')]);
      await watch(portal, [t]);
      singles.push(t);
    }
    const cpu1 = cpuSnapshot(backendPid);
    const singleOk = singles.filter(t => t.status === 'completed');
    const single = median(singleOk.map(latency));
    const singleCpu = { backend: (cpu1.backend - cpu0.backend) / o.singles, sandbox: (cpu1.sandbox - cpu0.sandbox) / o.singles };

    const rows: string[][] = [
      ['', 'Creates', 'completed', 'p50', 'p95', 'max', 'p95 / single'],
      ['alone (median of runs)', String(singles.length), String(singleOk.length), ms(single), '', ms(Math.max(...singleOk.map(latency))), ''],
    ];
    const bursts: { p95: number; ok: number; total: number; cpu: { backend: number; sandbox: number }; wall: number }[] = [];
    const details: string[] = [];
    const failures: string[] = [];
    for (let b = 1; b <= o.bursts; b++) {
      const logBefore = portal.backend.output().length;
      const names = Array.from({ length: o.concurrent }, () => uniqueName('conc'));
      const c0 = cpuSnapshot(backendPid);
      // The sandbox runs in this process: its event-loop delay says whether
      // the fakes answered late (a busy machine) or the backend did.
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const burstStart = Date.now();
      const tasks = await createAll(portal, names);
      const posted = Date.now() - burstStart;
      const polls = await watch(portal, tasks);
      const c1 = cpuSnapshot(backendPid);
      loop.disable();
      const load = os.loadavg()[0];
      const wall = Math.max(...tasks.map(t => mid(t.finished))) - burstStart;
      const ok = tasks.filter(t => t.status === 'completed');
      const lat = ok.map(latency);
      const waits = tasks.map(queueWait);
      const p95 = percentile(lat, 95);
      const cpu = { backend: (c1.backend - c0.backend) / tasks.length, sandbox: (c1.sandbox - c0.sandbox) / tasks.length };
      bursts.push({ p95, ok: ok.length, total: tasks.length, cpu, wall });
      rows.push([
        `${o.concurrent} at once${o.bursts > 1 ? ` (burst ${b})` : ''}`,
        String(tasks.length),
        String(ok.length),
        ms(percentile(lat, 50)),
        ms(p95),
        ms(Math.max(...lat)),
        ratio(p95 / single),
      ]);
      details.push(
        `burst ${b}: POSTs answered within ${ms(posted)}; all finished ${ms(wall)} after the first POST; ` +
          `queue wait p50 ${ms(percentile(waits, 50))}, max ${ms(Math.max(...waits))} (${waits.filter(w => w > 1000).length} waited > 1 s); ` +
          `status polls took p50 ${ms(percentile(polls, 50))}, max ${ms(Math.max(...polls))} (the times' resolution); ` +
          `sandbox event-loop delay p99 ${ms(loop.percentile(99) / 1e6)}, max ${ms(loop.max / 1e6)}; load average ${load.toFixed(1)}`,
      );
      const sorted = [...tasks].sort((x, y) => x.created - y.created);
      details.push(`  latency/queue wait per task, in POST order (ms): ${sorted.map(t => `${Math.round(latency(t))}/${Math.round(queueWait(t))}`).join(' ')}`);
      const kinds = new Map<string, string[]>();
      for (const t of tasks.filter(x => x.status !== 'completed')) {
        const result = await portal.waitForTask(t.id, 30_000).catch(e => ({ status: '?', message: String(e), log: [] as string[] }));
        // The message without its stack.
        const message = plain(String(result.message ?? '')).split('\n')[0];
        failures.push(`burst ${b}: ${t.name} (task ${t.id}) ${result.status}: ${message}`);
        // Same failure, other service: one line in the summary.
        const kind = message.replace(/ Rolled back: .*$/, '').replace(new RegExp(t.name, 'g'), '<name>').replace(/\b(project|port) \d+/g, '$1 <n>');
        kinds.set(kind, [...(kinds.get(kind) ?? []), t.name]);
      }
      for (const [kind, failed] of kinds) summary.problem(`concurrency burst ${b}: ${failed.length}x ${kind}`);
      if (kinds.size) {
        failures.push(`burst ${b}: longest backend stall seen by the status polls ${ms(Math.max(...polls))} ` +
          "(Node's HTTP servers close idle keep-alive connections after 5 s)");
      }
      const burstLog = plain(portal.backend.output().slice(logBefore));
      const locked = (burstLog.match(/SQLITE_BUSY|database is locked/g) ?? []).length;
      if (locked) failures.push(`burst ${b}: the backend log mentions SQLITE_BUSY / "database is locked" ${locked} times`);
      const troubles = burstLog
        .split('\n')
        .filter(l => /\b(error|warn)\b/i.test(l) && !/incomingRequest|events backend not found/.test(l));
      if (troubles.length) {
        failures.push(`burst ${b}: backend warnings/errors (${troubles.length}; first 10):`);
        for (const l of troubles.slice(0, 10)) failures.push(`      ${l.slice(0, 300)}`);
      }
    }
    table(rows);
    note(`single runs: ${singles.map(t => `${ms(latency(t))}${t.status === 'completed' ? '' : ` (${t.status})`}`).join(', ')}`);
    for (const d of details) note(d);
    const fmtCpu = (c: { backend: number; sandbox: number }) => `backend ${ms(c.backend)} + sandbox ${ms(c.sandbox)}`;
    note(`CPU per Create: alone ${fmtCpu(singleCpu)}; in the burst(s) ${bursts.map(b => fmtCpu(b.cpu)).join('; ')}.`);
    // The backend runs every Create's JavaScript on one event loop: N Creates
    // need N times the CPU one costs there, whatever runs in parallel.
    const burstCpu = median(bursts.map(b => b.cpu.backend));
    const floor = o.concurrent * burstCpu;
    note(`Event-loop floor: ${o.concurrent} x ${ms(burstCpu)} backend CPU per Create (in the burst) = ${ms(floor)}, ` +
      `${ratio(floor / single)} the single Create: the last one cannot finish earlier on one backend process.`);
    note(`Machine: ${bursts.map(b => `${(((b.cpu.backend + b.cpu.sandbox) * b.total) / b.wall / 2 * 100).toFixed(0)}%`).join(', ')} ` +
      'of 2 cores busy with backend + sandbox during the burst(s).');
    note('Target: p95 <= 2x single, all completed.');
    if (failures.length) {
      console.log('\n  Failures and backend warnings:');
      for (const f of failures) console.log(`  ${f}`);
    }

    const p95s = bursts.map(b => b.p95 / single);
    summary.add({
      section: 'concurrency',
      figure: `p95 of ${o.concurrent} concurrent / single${o.concDelayMs ? ` (${o.concDelayMs} ms/call)` : ''}`,
      value: `${p95s.map(ratio).join(', ')} (p95 ${bursts.map(b => ms(b.p95)).join(', ')}; single ${ms(single)})`,
      target: '<= 2×',
      met: p95s.every(Number.isFinite) ? p95s.every(r => r <= 2) : undefined,
    });
    summary.add({
      section: 'concurrency',
      figure: 'concurrent Creates completed',
      value: bursts.map(b => `${b.ok} / ${b.total}`).join(', '),
      target: 'all',
      met: bursts.every(b => b.ok === b.total),
    });
  } finally {
    await admin.clear();
  }
}
