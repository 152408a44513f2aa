/*
 * Benchmark (not a test): golden-path wall time with latency injected on
 * every external call, against the critical-path bound.
 *
 *   yarn workspace backend bench:golden-path [delayMs=200] [runs=3]
 *
 * Starts the real backend and the sandbox, creates services through the
 * scaffolder's HTTP API, and prints figures. Nothing is asserted: machines
 * here are shared and noisy, so compare the ratios within one run.
 */
/* eslint-disable no-console */
// A script run from source with dev dependencies, never part of the bundle,
// so it may use the test harness and the sandbox.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { TraceEntry } from '@internal/sandbox';
// eslint-disable-next-line no-restricted-imports
import { startPortal } from '../__testUtils__/portal';

const delayMs = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 3);

/**
 * The golden path's dependency chains, in calls that must wait for one
 * another (see the DAG in platformServiceProvision.ts). Each number is the
 * minimum sequence of external calls a step needs; steps on one line run
 * at the same time, so a line costs its longest entry.
 */
const CRITICAL_PATH_MODEL: Array<[string, number]> = [
  // All lookups of the name check at once.
  ['name check (GitLab, ECR, IAM, ArgoCD, Kubernetes lookups in parallel)', 1],
  // Find, resolve the group, create: the atomic claim of the name.
  ['claim: GitLab app project (find, group, create)', 3],
  // Longest branch after the claim: ECR repo (describe, create, lifecycle)
  // then CI user (get, create, attach+key, variables). The GitOps chain
  // (project 3, push 3) + ArgoCD application (get, create) is 8 as well.
  ['longest branch: ECR repository -> CI credentials', 8],
  // The catalog reads catalog-info.yaml through the GitLab API.
  ['catalog registration (read catalog-info.yaml)', 2],
];

/** Longest chain of requests in which each starts after the previous one ended. */
function longestChain(trace: TraceEntry[]): TraceEntry[] {
  const sorted = [...trace].sort((a, b) => a.end - b.end);
  const best: { length: number; prev: number }[] = [];
  sorted.forEach((r, i) => {
    best[i] = { length: 1, prev: -1 };
    for (let j = 0; j < i; j++) {
      if (sorted[j].end <= r.start && best[j].length + 1 > best[i].length) {
        best[i] = { length: best[j].length + 1, prev: j };
      }
    }
  });
  let at = best.reduce((m, b, i) => (b.length > (best[m]?.length ?? 0) ? i : m), 0);
  const chain: TraceEntry[] = [];
  while (at >= 0 && sorted[at]) {
    chain.unshift(sorted[at]);
    at = best[at].prev;
  }
  return chain;
}

async function main() {
  const portal = await startPortal();
  const admin = (p: string, init?: RequestInit) =>
    fetch(`${portal.sandbox.urls.gitlab}/__admin${p}`, {
      ...init,
      headers: { 'content-type': 'application/json' },
    });
  let serial = 0;
  const createOnce = async (latency = 0) => {
    const name = `bench-${process.pid % 1000}-${++serial}`;
    await admin('/faults', { method: 'DELETE' }); // also clears the trace
    if (latency) {
      await admin('/faults', { method: 'POST', body: JSON.stringify({ delayMs: latency }) });
    }
    const started = Date.now();
    const id = await portal.createService({
      name,
      owner: 'group:default/guests',
      description: 'Benchmark service',
      port: 3000,
      replicas: 2,
    });
    return { id, name, started };
  };
  const finish = async ({ id, started }: { id: string; started: number }) => {
    // Task timestamps have one-second resolution, so time it here, polling
    // every 25 ms (the error is at most one poll).
    let status = '';
    while (status !== 'completed' && status !== 'failed') {
      await new Promise(r => setTimeout(r, 25));
      status = (await (await portal.api(`/api/scaffolder/v2/tasks/${id}`)).json()).status;
    }
    const wall = Date.now() - started;
    if (status !== 'completed') {
      throw new Error(`task failed: ${(await portal.waitForTask(id)).message}`);
    }
    const trace: TraceEntry[] = (await (await admin('/trace')).json()).requests.filter(
      (r: TraceEntry) => r.end && r.start >= started,
    );
    return { wall, trace };
  };

  try {
    // Warm-up: caches, JIT, the catalog's first processing.
    await finish(await createOnce());
    const base: number[] = [];
    for (let i = 0; i < runs; i++) base.push((await finish(await createOnce())).wall);
    const w0 = Math.min(...base);

    const results: { wall: number; calls: number; chain: TraceEntry[] }[] = [];
    for (let i = 0; i < runs; i++) {
      const { wall, trace } = await finish(await createOnce(delayMs));
      results.push({ wall, calls: trace.length, chain: longestChain(trace) });
    }
    await admin('/faults', { method: 'DELETE' });

    const hops = CRITICAL_PATH_MODEL.reduce((n, [, h]) => n + h, 0);
    const bound = hops * delayMs + w0;
    const best = results.reduce((a, b) => (a.wall <= b.wall ? a : b));
    console.log(`\nGolden path, ${delayMs} ms injected on every external call, ${runs} runs each`);
    console.log(`  wall time without injected latency (W0, best):   ${w0} ms`);
    console.log(`  wall time with latency (W, per run):            ${results.map(r => r.wall).join(', ')} ms`);
    console.log(`  external calls per run:                         ${results.map(r => r.calls).join(', ')}`);
    console.log(`  fully sequential would be (calls x delay + W0):  ${best.calls * delayMs + w0} ms`);
    console.log(`  critical path (model): ${hops} calls`);
    for (const [what, h] of CRITICAL_PATH_MODEL) console.log(`    ${h}  ${what}`);
    console.log(`  critical-path bound (hops x delay + W0):         ${bound} ms`);
    console.log(`  observed longest waiting chain: ${best.chain.length} calls`);
    console.log(`    ${best.chain.map(r => `${r.service} ${r.operation}`).join('\n    ')}`);
    console.log(`  ratio W / bound (best run): ${(best.wall / bound).toFixed(2)} (target <= 1.2)`);
    // The stricter reading: against the latency alone, as if the work
    // between calls took no time at all.
    console.log(`  ratio W / (hops x delay) (best run): ${(best.wall / (hops * delayMs)).toFixed(2)}`);
  } finally {
    await portal.close();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
