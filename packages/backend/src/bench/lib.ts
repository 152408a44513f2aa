/* eslint-disable no-console */
import fs from 'node:fs';
import os from 'node:os';

/** Shared pieces of the benchmark: options, statistics, tables, the summary. */

export const SECTIONS = ['concurrency', 'critical-path', 'deploy', 'scale', 'footprint'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  sections: Section[];
  /** Concurrent Creates (section concurrency). */
  concurrent: number;
  /** Creates run alone for the single-Create reference. */
  singles: number;
  /** Bursts of concurrent Creates. */
  bursts: number;
  /** Latency on every external call during the concurrency section (0 = none, as the brief asks). */
  concDelayMs: number;
  /** scaffolder.concurrentTasksLimit for the portal (undefined = as configured). */
  tasksLimit?: number;
  /** Services seeded for the scale section. */
  seedCount: number;
  /** Creates per state (empty, seeded) in the scale section. */
  scaleCreates: number;
  /** Name-check lookup replays per state in the scale section. */
  scaleLookups: number;
  /** Latency injected on every external call (critical-path section). */
  delayMs: number;
  /** Creates with injected latency (critical-path section). */
  cpRuns: number;
  /** A/B rounds (footprint section). */
  rounds: number;
  /** Rebuild the production bundle: auto = when older than the sources. */
  build: 'auto' | 'always' | 'never';
  /** ArgoCD's poll interval for the polling-only deploy sample. */
  argocdPollMs: number;
  /** Polling-only deploy samples. */
  pollSamples: number;
  /** Webhook deploy samples. */
  webhookSamples: number;
  /** Portal database. */
  db: 'sqlite' | 'pg';
}

export const USAGE = `yarn bench [options]            (from the repository root)

Sections (default: all, in this order): ${SECTIONS.join(', ')}
  --only a,b              run only these sections
  --skip a,b              run all but these
  --concurrent N          concurrent Creates (20)
  --singles N             Creates run alone for the reference (3)
  --bursts N              bursts of concurrent Creates, one after another (1)
  --conc-delay-ms N       latency on every external call during the concurrency section (0)
  --tasks-limit N         scaffolder.concurrentTasksLimit for the portal (as configured: Backstage's default 10)
  --seed N                services seeded for the scale section (1000)
  --scale-creates N       Creates per state, empty and seeded (5)
  --scale-lookups N       name-check lookup replays per state (50)
  --delay-ms N            latency injected on every external call (200)
  --cp-runs N             Creates with injected latency (2)
  --rounds N              footprint A/B rounds (3)
  --build auto|always|never  rebuild the production bundle (auto: when older than its sources)
  --argocd-poll-ms N      ArgoCD poll interval for the polling-only sample (180000, ArgoCD's default)
  --poll-samples N        polling-only deploy samples (1)
  --webhook-samples N     webhook deploy samples (5)
  --db sqlite|pg          portal database (sqlite, as ./scripts/dev; pg = PostgreSQL on 127.0.0.1:5432)
  DELAY [RUNS]            bare numbers: --delay-ms, --cp-runs (as \`bench:golden-path 200 3\` took them)
  --quick                 shorter run: --singles 2 --scale-creates 3 --scale-lookups 30 --cp-runs 1
                          --rounds 3 --argocd-poll-ms 20000 (the polling figure is then not ArgoCD's default)
`;

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    sections: [...SECTIONS],
    concurrent: 20,
    singles: 3,
    bursts: 1,
    concDelayMs: 0,
    seedCount: 1000,
    scaleCreates: 5,
    scaleLookups: 50,
    delayMs: 200,
    cpRuns: 2,
    rounds: 3,
    build: 'auto',
    argocdPollMs: 180_000,
    pollSamples: 1,
    webhookSamples: 5,
    db: 'sqlite',
  };
  const sectionList = (v: string): Section[] => {
    const list = v.split(',').map(s => s.trim()).filter(Boolean);
    for (const s of list) {
      if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section "${s}"; sections: ${SECTIONS.join(', ')}`);
    }
    return list as Section[];
  };
  const num = (flag: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}`);
    return n;
  };
  let positional = 0;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      case '--only': {
        const only = sectionList(value());
        o.sections = SECTIONS.filter(s => only.includes(s));
        break;
      }
      case '--skip': {
        const skip = sectionList(value());
        o.sections = o.sections.filter(s => !skip.includes(s));
        break;
      }
      case '--concurrent': o.concurrent = num(flag, value(), 1); break;
      case '--singles': o.singles = num(flag, value(), 1); break;
      case '--bursts': o.bursts = num(flag, value(), 1); break;
      case '--conc-delay-ms': o.concDelayMs = num(flag, value(), 0); break;
      case '--tasks-limit': o.tasksLimit = num(flag, value(), 1); break;
      case '--seed': o.seedCount = num(flag, value(), 1); break;
      case '--scale-creates': o.scaleCreates = num(flag, value(), 1); break;
      case '--scale-lookups': o.scaleLookups = num(flag, value(), 1); break;
      case '--delay-ms': o.delayMs = num(flag, value(), 1); break;
      case '--cp-runs': o.cpRuns = num(flag, value(), 1); break;
      case '--rounds': o.rounds = num(flag, value(), 1); break;
      case '--argocd-poll-ms': o.argocdPollMs = num(flag, value(), 10); break;
      case '--poll-samples': o.pollSamples = num(flag, value(), 0); break;
      case '--webhook-samples': o.webhookSamples = num(flag, value(), 1); break;
      case '--build': {
        const v = value();
        if (v !== 'auto' && v !== 'always' && v !== 'never') throw new Error('--build auto|always|never');
        o.build = v;
        break;
      }
      case '--db': {
        const v = value();
        if (v !== 'sqlite' && v !== 'pg') throw new Error('--db sqlite|pg');
        o.db = v;
        break;
      }
      case '--quick':
        Object.assign(o, { singles: 2, scaleCreates: 3, scaleLookups: 30, cpRuns: 1, rounds: 3, argocdPollMs: 20_000 });
        break;
      default:
        // `bench:golden-path [delayMs] [runs]`, as the old benchmark took them.
        if (/^\d+$/.test(argv[i]) && positional < 2) {
          if (positional++ === 0) o.delayMs = Number(argv[i]);
          else o.cpRuns = Number(argv[i]);
          break;
        }
        throw new Error(`unknown argument "${argv[i]}"\n\n${USAGE}`);
    }
  }
  return o;
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p95 of 20 values is the 19th smallest). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
}

export const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')} ms` : 'n/a');
export const sec = (v: number) => (Number.isFinite(v) ? `${(v / 1000).toFixed(1)} s` : 'n/a');
export const mb = (kb: number) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MB` : 'n/a');
export const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');

/** Prints rows as an aligned table (first row = header). */
export function table(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => (r[c] ?? '').length)));
  rows.forEach((r, i) => {
    console.log(`  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`);
    if (i === 0) console.log(`  ${widths.map(w => '-'.repeat(w)).join('  ')}`);
  });
}

export function heading(title: string): void {
  console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
  // Other work on this shared machine skews timings: say how busy it was.
  console.log(`  (load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores)`);
}

export function note(text: string): void {
  console.log(`  ${text}`);
}

/** One line of the final summary. */
export interface SummaryLine {
  section: Section;
  figure: string;
  value: string;
  target: string;
  /** undefined = not measured / not comparable. */
  met?: boolean;
}

export class Summary {
  readonly lines: SummaryLine[] = [];
  readonly problems: string[] = [];

  add(line: SummaryLine) {
    this.lines.push(line);
  }

  problem(text: string) {
    this.problems.push(text);
  }

  print(elapsedMs: number) {
    heading('Summary');
    if (this.lines.length) {
      table([
        ['section', 'figure', 'value', 'target', 'met'],
        ...this.lines.map(l => [l.section, l.figure, l.value, l.target, { true: 'yes', false: 'NO', undefined: '-' }[String(l.met)]!]),
      ]);
    }
    if (this.problems.length) {
      console.log('\n  Not measured or worth a look:');
      for (const p of this.problems) console.log(`  - ${p}`);
    }
    console.log(`\n  Run time: ${sec(elapsedMs)}`);
  }
}

/** Strips ANSI colours from backend log lines. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux x86-64

/**
 * CPU time (user + system, ms) of a process and of its children that have
 * exited (e.g. the git processes a sandbox helper ran), from /proc; NaN if
 * it is gone.
 */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * CPU used so far by the backend process and by the rest of this bench's
 * process tree: this process (the in-process sandbox, and the bench's own
 * polling) plus its other children (the sandbox's git helpers). Helpers that
 * exited are not counted (the sandbox keeps its two helpers for its life).
 */
export function cpuSnapshot(backendPid: number | undefined): { backend: number; sandbox: number } {
  let sandbox = cpuMs(process.pid);
  const visit = (pid: number) => {
    for (const child of childrenOf(pid)) {
      if (child === backendPid) continue;
      sandbox += cpuMs(child) || 0;
      visit(child);
    }
  };
  visit(process.pid);
  return { backend: backendPid ? cpuMs(backendPid) : NaN, sandbox };
}
