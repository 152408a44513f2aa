/* eslint-disable no-console */
import { criticalPath, maxInFlight } from './criticalPath';
import { isCatalogRead, ObservedTask, portalHarness, sandboxAdmin, stepWall, TracedCall } from './harness';
import { BenchOptions, heading, median, ms, note, ratio, Summary, table } from './lib';

type Harness = ReturnType<typeof portalHarness>;
type Admin = ReturnType<typeof sandboxAdmin>;

/**
 * The calls of the provisioning step: inside the step's window (from the
 * last poll before the step was seen starting to the first poll that saw it
 * end), and neither the catalog's reads of catalog-info.yaml (the catalog
 * refreshes earlier services in the background; the step never reads that
 * file) nor the name check's lookups. Those are the first calls of the
 * trace (cleared just before the Create), made all at once: with latency
 * injected, every one of them starts before the first of them ends, and
 * nothing of the provisioning step starts before they all have ended.
 */
export function provisionCalls(task: ObservedTask, trace: TracedCall[]): TracedCall[] {
  const step = task.steps.provision;
  if (!step?.start || !step.end) return [];
  const own = trace.filter(c => !isCatalogRead(c));
  const firstEnd = Math.min(...own.map(c => c.end));
  return own.filter(c => c.start >= firstEnd && c.start >= step.start!.lo && c.end <= step.end!.hi);
}

export async function criticalPathSection(
  h: Harness,
  admin: Admin,
  o: BenchOptions,
  summary: Summary,
): Promise<void> {
  heading(`3. Critical path: ${o.delayMs} ms on every external call`);
  note(`Fault rule {delayMs: ${o.delayMs}} for every operation of every service; ${o.cpRuns} Create(s), one at a time.`);
  note('Wall = the provisioning step (idp:platform:service:provision), from its task events (polled; ± = the polling bracket).');
  note('Critical path = longest duration-weighted chain of calls in that window where each call starts after the previous ended.');

  const runs: { task: ObservedTask; wall: number; error: number; calls: TracedCall[]; cp: ReturnType<typeof criticalPath<TracedCall>> }[] = [];
  try {
    for (let i = 0; i < o.cpRuns; i++) {
      await admin.clear();
      await admin.delayEverything(o.delayMs);
      const task = await h.createObserved(h.uniqueName('cp'));
      const trace = await admin.trace();
      await admin.clear();
      if (task.status !== 'completed') {
        summary.problem(`critical-path: Create ${task.name} ${task.status}: ${task.message}`);
        console.log(`  run ${i + 1}: ${task.name} ${task.status}: ${task.message}`);
        continue;
      }
      const calls = provisionCalls(task, trace);
      const { ms: wall, error } = stepWall(task.steps.provision);
      runs.push({ task, wall, error, calls, cp: criticalPath(calls) });
    }
  } finally {
    await admin.clear();
  }
  if (!runs.length) {
    summary.add({ section: 'critical-path', figure: 'provision wall / critical path', value: 'n/a (no Create completed)', target: '<= 1.2×' });
    return;
  }

  table([
    ['run', 'Create', 'provision wall', 'critical path', 'calls on it', 'calls in step', 'sum of calls', 'most in flight', 'wall / CP'],
    ...runs.map((r, i) => [
      String(i + 1),
      ms(r.task.done.hi - r.task.created),
      `${ms(r.wall)} ±${Math.round(r.error)}`,
      ms(r.cp.ms),
      String(r.cp.chain.length),
      String(r.calls.length),
      ms(r.calls.reduce((s, c) => s + c.end - c.start, 0)),
      String(maxInFlight(r.calls)),
      ratio(r.wall / r.cp.ms),
    ]),
  ]);
  const best = runs.reduce((a, b) => (a.wall / a.cp.ms <= b.wall / b.cp.ms ? a : b));
  const t0 = best.task.steps.provision!.start!.lo;
  console.log(`\n  Critical path of run ${runs.indexOf(best) + 1} (${best.cp.chain.length} calls, ${ms(best.cp.ms)}; times from the step's start):`);
  let prevEnd = t0;
  for (const c of best.cp.chain) {
    console.log(
      `    ${String(c.start - t0).padStart(6)} -> ${String(c.end - t0).padStart(6)} ms  ${String(c.end - c.start).padStart(5)} ms` +
        `  (gap ${String(c.start - prevEnd).padStart(4)})  ${c.name}`,
    );
    prevEnd = c.end;
  }
  const stepList = ['name-free', 'fetch', 'provision', 'register']
    .map(id => [id, stepWall(best.task.steps[id])] as const)
    .map(([id, w]) => `${id} ${ms(w.ms)} ±${Math.round(w.error)}`)
    .join(', ');
  note(`Steps of run ${runs.indexOf(best) + 1}: ${stepList}.`);
  const gaps = best.wall - best.cp.ms;
  note(`Wall minus critical path: ${ms(gaps)} of work between calls (local compute, journal writes, waiting not in the trace).`);
  note(`Step-boundary bracket widths: up to ${ms(Math.max(...runs.map(r => r.task.widestBracketMs)))} (events polled every ~15 ms).`);
  note('Target: wall / critical path <= 1.2.');

  const ratios = runs.map(r => r.wall / r.cp.ms);
  const med = median(ratios);
  summary.add({
    section: 'critical-path',
    figure: `provision wall / critical path (${o.delayMs} ms per call)`,
    value: `${ratio(med)} (median of ${runs.length}; ${ms(median(runs.map(r => r.wall)))} / ${ms(median(runs.map(r => r.cp.ms)))}, ${best.cp.chain.length} calls)`,
    target: '<= 1.2×',
    met: med <= 1.2,
  });
}
