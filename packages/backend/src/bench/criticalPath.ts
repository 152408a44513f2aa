/** One external call as the sandbox recorded it (ms since epoch). */
export interface Call {
  service: string;
  operation: string;
  start: number;
  end: number;
}

/**
 * The critical path of a set of calls: the longest chain, weighted by
 * duration, in which each call started only after the previous one had
 * ended (`prev.end <= next.start`, so with the trace's millisecond clock a
 * call that starts in the millisecond its predecessor ends still counts).
 * A longest path over that DAG, O(n²): a Create makes about a hundred calls.
 *
 * Its length is what the calls alone force on the wall time when nothing
 * else waits; the wall time minus it is the work between calls (and any
 * waiting the trace cannot see).
 */
export function criticalPath<T extends Call>(calls: T[]): { ms: number; chain: T[] } {
  const sorted = calls.filter(c => c.end >= c.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const best = new Array<number>(sorted.length);
  const prev = new Array<number>(sorted.length);
  let top = -1;
  for (let i = 0; i < sorted.length; i++) {
    const duration = sorted[i].end - sorted[i].start;
    best[i] = duration;
    prev[i] = -1;
    // Predecessors start no later than this call (they end before it starts).
    for (let j = 0; j < i; j++) {
      if (sorted[j].end <= sorted[i].start && best[j] + duration > best[i]) {
        best[i] = best[j] + duration;
        prev[i] = j;
      }
    }
    if (top < 0 || best[i] > best[top]) top = i;
  }
  const chain: T[] = [];
  for (let at = top; at >= 0; at = prev[at]) chain.unshift(sorted[at]);
  return { ms: top < 0 ? 0 : best[top], chain };
}

/** The most calls in flight at once. */
export function maxInFlight(calls: Call[]): number {
  const edges = calls.flatMap(c => [
    { t: c.start, d: 1 },
    { t: c.end, d: -1 },
  ]);
  // Ends before starts at the same millisecond.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}
