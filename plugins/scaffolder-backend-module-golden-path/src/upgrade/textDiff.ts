/**
 * Line diffs, unified diffs and three-way merges of small text files (the
 * GitOps repository's manifests), pure and dependency-free. Lines keep
 * their `\n`, so a missing newline at the end of a file is a difference too.
 */

/** A changed region: lines `[aStart, aEnd)` of `a` became `[bStart, bEnd)` of `b`. */
export interface ChangedRegion {
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
}

/** The lines of `text`, each with its `\n` (the last one may lack it). */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map(l => `${l}\n`);
  if (text.endsWith('\n')) lines.pop();
  else lines[lines.length - 1] = lines[lines.length - 1].slice(0, -1);
  return lines;
}

/**
 * Pairs of equal lines `[i, j]` (`a[i] === b[j]`) of a shortest edit
 * script, ascending (Myers' O((N+M)D) algorithm).
 */
function matches(a: string[], b: string[]): Array<[number, number]> {
  // Common prefix and suffix cost nothing and shrink the search.
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) {
    prefix++;
  }
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const n = a.length - prefix - suffix;
  const m = b.length - prefix - suffix;
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < prefix; i++) pairs.push([i, i]);

  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let done = n === 0 || m === 0;
  for (let d = 0; d <= max && !done; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
          ? v[offset + k + 1]
          : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[prefix + x] === b[prefix + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        done = true;
        break;
      }
    }
  }
  // Walk back from the end through the saved frontiers.
  const middle: Array<[number, number]> = [];
  if (n > 0 && m > 0) {
    let x = n;
    let y = m;
    for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
      const frontier = trace[d];
      const k = x - y;
      const prevK =
        k === -d ||
        (k !== d && frontier[offset + k - 1] < frontier[offset + k + 1])
          ? k + 1
          : k - 1;
      const prevX = d === 0 ? 0 : frontier[offset + prevK];
      const prevY = d === 0 ? 0 : prevX - prevK;
      while (x > prevX && y > prevY) {
        x--;
        y--;
        middle.push([prefix + x, prefix + y]);
      }
      x = prevX;
      y = prevY;
    }
  }
  pairs.push(...middle.reverse());
  for (let i = 0; i < suffix; i++) {
    pairs.push([a.length - suffix + i, b.length - suffix + i]);
  }
  return pairs;
}

/** The maximal changed regions between `a` and `b`, in order. */
export function diffRegions(a: string[], b: string[]): ChangedRegion[] {
  const regions: ChangedRegion[] = [];
  let i = 0;
  let j = 0;
  for (const [mi, mj] of [...matches(a, b), [a.length, b.length]]) {
    if (mi > i || mj > j) {
      regions.push({ aStart: i, aEnd: mi, bStart: j, bEnd: mj });
    }
    i = mi + 1;
    j = mj + 1;
  }
  return regions;
}

function hunkRange(start: number, count: number): string {
  // GNU diff: an empty range names the line before it.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? `${first}` : `${first},${count}`;
}

function diffLine(sign: string, line: string): string[] {
  return line.endsWith('\n')
    ? [`${sign}${line.slice(0, -1)}`]
    : [`${sign}${line}`, '\\ No newline at end of file'];
}

/**
 * A unified diff (`git diff` style, `context` lines around each change) of
 * one file; undefined content means the file does not exist on that side.
 * Empty string when nothing changed.
 */
export function unifiedDiff(
  path: string,
  before: string | undefined,
  after: string | undefined,
  context = 3,
): string {
  if (before === after) return '';
  const a = splitLines(before ?? '');
  const b = splitLines(after ?? '');
  const regions = diffRegions(a, b);
  const out = [
    `--- ${before === undefined ? '/dev/null' : `a/${path}`}`,
    `+++ ${after === undefined ? '/dev/null' : `b/${path}`}`,
  ];
  let r = 0;
  while (r < regions.length) {
    // Regions whose context would touch share one hunk.
    let last = r;
    while (
      last + 1 < regions.length &&
      regions[last + 1].aStart - regions[last].aEnd <= 2 * context
    ) {
      last++;
    }
    const aFrom = Math.max(0, regions[r].aStart - context);
    const aTo = Math.min(a.length, regions[last].aEnd + context);
    const bFrom = regions[r].bStart - (regions[r].aStart - aFrom);
    const bTo = regions[last].bEnd + (aTo - regions[last].aEnd);
    out.push(
      `@@ -${hunkRange(aFrom, aTo - aFrom)} +${hunkRange(bFrom, bTo - bFrom)} @@`,
    );
    let i = aFrom;
    for (let k = r; k <= last; k++) {
      const region = regions[k];
      for (; i < region.aStart; i++) out.push(...diffLine(' ', a[i]));
      for (let x = region.aStart; x < region.aEnd; x++) {
        out.push(...diffLine('-', a[x]));
      }
      for (let y = region.bStart; y < region.bEnd; y++) {
        out.push(...diffLine('+', b[y]));
      }
      i = region.aEnd;
    }
    for (; i < aTo; i++) out.push(...diffLine(' ', a[i]));
    r = last + 1;
  }
  return `${out.join('\n')}\n`;
}

/** The outcome of a three-way merge. */
export interface MergeResult {
  text: string;
  /** Number of conflict blocks (0: merged cleanly). */
  conflicts: number;
}

/** The labels on a conflict's markers. */
export interface ConflictLabels {
  ours: string;
  theirs: string;
}

const withNewline = (line: string) => (line.endsWith('\n') ? line : `${line}\n`);

/**
 * Lines of `ours` and `theirs` with git-style conflict markers around each
 * place they differ; lines they share stay outside the markers.
 */
function conflictBlocks(
  ours: string[],
  theirs: string[],
  labels: ConflictLabels,
): { lines: string[]; conflicts: number } {
  const lines: string[] = [];
  let conflicts = 0;
  let j = 0;
  for (const region of [
    ...diffRegions(ours, theirs),
    { aStart: ours.length, aEnd: ours.length, bStart: theirs.length, bEnd: theirs.length },
  ]) {
    for (; j < region.bStart; j++) lines.push(theirs[j]);
    if (region.aEnd > region.aStart || region.bEnd > region.bStart) {
      conflicts++;
      lines.push(
        `<<<<<<< ${labels.ours}\n`,
        ...ours.slice(region.aStart, region.aEnd).map(withNewline),
        '=======\n',
        ...theirs.slice(region.bStart, region.bEnd).map(withNewline),
        `>>>>>>> ${labels.theirs}\n`,
      );
    }
    j = region.bEnd;
  }
  return { lines, conflicts };
}

/**
 * Merges the changes from `base` to `ours` and from `base` to `theirs`, as
 * `git merge-file` does: a change made on one side only is taken, the same
 * change on both sides is taken once, and changes that overlap or touch are
 * a conflict with markers (only around the lines that differ). Without a
 * base every difference between the two sides is a conflict.
 */
export function merge3(
  base: string | undefined,
  ours: string,
  theirs: string,
  labels: ConflictLabels,
): MergeResult {
  const o = splitLines(ours);
  const t = splitLines(theirs);
  if (base === undefined) {
    const { lines, conflicts } = conflictBlocks(o, t, labels);
    return { text: lines.join(''), conflicts };
  }
  const b = splitLines(base);
  type Hunk = ChangedRegion & { side: 'ours' | 'theirs' };
  const hunks: Hunk[] = [
    ...diffRegions(b, o).map(h => ({ ...h, side: 'ours' as const })),
    ...diffRegions(b, t).map(h => ({ ...h, side: 'theirs' as const })),
  ].sort((x, y) => x.aStart - y.aStart || x.aEnd - y.aEnd);

  const out: string[] = [];
  let conflicts = 0;
  let baseAt = 0;
  // Offset of each side's line numbers against the base, before `baseAt`.
  const delta = { ours: 0, theirs: 0 };
  let h = 0;
  while (h < hunks.length) {
    // One cluster: hunks that overlap or touch in base coordinates.
    const lo = hunks[h].aStart;
    let hi = hunks[h].aEnd;
    const cluster: Hunk[] = [hunks[h]];
    while (h + 1 < hunks.length && hunks[h + 1].aStart <= hi) {
      h++;
      cluster.push(hunks[h]);
      hi = Math.max(hi, hunks[h].aEnd);
    }
    h++;
    for (; baseAt < lo; baseAt++) out.push(b[baseAt]);
    const span = (side: 'ours' | 'theirs', lines: string[]) => {
      const grow = cluster
        .filter(x => x.side === side)
        .reduce((sum, x) => sum + (x.bEnd - x.bStart) - (x.aEnd - x.aStart), 0);
      const start = lo + delta[side];
      const end = hi + delta[side] + grow;
      delta[side] += grow;
      return lines.slice(start, end);
    };
    const oursSpan = span('ours', o);
    const theirsSpan = span('theirs', t);
    const sides = new Set(cluster.map(x => x.side));
    if (sides.size === 1) {
      out.push(...(sides.has('ours') ? oursSpan : theirsSpan));
    } else if (oursSpan.join('') === theirsSpan.join('')) {
      out.push(...oursSpan);
    } else {
      const blocks = conflictBlocks(oursSpan, theirsSpan, labels);
      out.push(...blocks.lines);
      conflicts += blocks.conflicts;
    }
    baseAt = hi;
  }
  for (; baseAt < b.length; baseAt++) out.push(b[baseAt]);
  return { text: out.join(''), conflicts };
}
