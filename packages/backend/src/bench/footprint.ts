/* eslint-disable no-console */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @backstage/no-undeclared-imports
import { RunningSandbox } from '@internal/sandbox';
// eslint-disable-next-line @backstage/no-undeclared-imports
import yaml from 'yaml';
// eslint-disable-next-line no-restricted-imports
import { freePort, REPO_ROOT } from '../__testUtils__/backendProcess';
import { form, GUEST_SIGN_IN_CONFIG } from './harness';
import { BenchOptions, heading, mb, median, ms, note, ratio, sleep, Summary, table } from './lib';

/**
 * The switch that leaves our modules out (read in packages/backend/src/index.ts).
 * Until it exists there, the bench says so and measures "without" on a
 * patched copy of the built entry point in its throwaway directory.
 */
export const WITHOUT_SWITCH = 'IDP_WITHOUT_GOLDEN_PATH';
export const SWITCH_SNIPPET = `// Benchmarks (yarn bench) start the backend without our modules: ${WITHOUT_SWITCH}=1.
if (process.env.${WITHOUT_SWITCH} !== '1') {
  // Our golden-path scaffolder actions.
  backend.add(import('@internal/plugin-scaffolder-backend-module-golden-path'));
  // ArgoCD and pipeline status for the entity pages (tokens stay here).
  backend.add(import('@internal/plugin-golden-path-backend'));
}`;
const OUR_MODULES = /backend\.add\(\s*import\(\s*['"]@internal\/(plugin-scaffolder-backend-module-golden-path|plugin-golden-path-backend)['"]\s*\)\s*\);?/g;

const BACKEND_DIR = path.join(REPO_ROOT, 'packages/backend');
const BUNDLE = path.join(BACKEND_DIR, 'dist/bundle.tar.gz');

/** Newest modification time of what goes into the bundle (tests, benches and e2e excluded). */
function newestSource(bundlePlugins: string[]): { mtime: number; file: string } {
  let newest = { mtime: 0, file: '' };
  const skip = /\.test\.|__testUtils__|\/bench\/|\/e2e\/|\/node_modules\//;
  const visit = (p: string) => {
    if (!fs.existsSync(p) || skip.test(p)) return;
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    } else if (st.mtimeMs > newest.mtime) {
      newest = { mtime: st.mtimeMs, file: path.relative(REPO_ROOT, p) };
    }
  };
  for (const dir of [BACKEND_DIR, ...bundlePlugins.map(p => path.join(REPO_ROOT, 'plugins', p))]) {
    visit(path.join(dir, 'src'));
    visit(path.join(dir, 'package.json'));
    visit(path.join(dir, 'config.d.ts'));
  }
  return newest;
}

function bundlePluginDirs(): string[] {
  const list = execFileSync('tar', ['-tzf', BUNDLE], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return [...new Set([...list.matchAll(/^(?:\.\/)?plugins\/([^/]+)\/package\.json$/gm)].map(m => m[1]))];
}

/** Builds the bundle when asked or when it is older than its sources; says what it did. */
function ensureBundle(o: BenchOptions): { ok: boolean; note: string } {
  let reason = '';
  if (!fs.existsSync(BUNDLE)) reason = 'no bundle yet';
  else if (o.build === 'always') reason = '--build always';
  else if (o.build === 'auto') {
    const newest = newestSource(bundlePluginDirs());
    if (newest.mtime > fs.statSync(BUNDLE).mtimeMs) reason = `${newest.file} is newer than the bundle`;
  }
  const age = () => `${((Date.now() - fs.statSync(BUNDLE).mtimeMs) / 60_000).toFixed(0)} min old`;
  if (!reason || o.build === 'never') {
    return fs.existsSync(BUNDLE)
      ? { ok: true, note: `existing bundle (${age()}${o.build === 'never' ? ', --build never' : ', newer than its sources'})` }
      : { ok: false, note: 'no bundle (yarn build:backend) and --build never' };
  }
  const yarnRelease = fs.readdirSync(path.join(REPO_ROOT, '.yarn/releases')).find(f => /^yarn-.*\.cjs$/.test(f));
  note(`Building the bundle (${reason}): yarn build:backend ...`);
  const started = Date.now();
  const res = spawnSync(process.execPath, [path.join(REPO_ROOT, '.yarn/releases', yarnRelease!), 'build:backend'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const took = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  if (res.status !== 0) {
    const tail = `${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-8).join('\n    ');
    if (fs.existsSync(BUNDLE)) return { ok: true, note: `build FAILED after ${took}; using the previous bundle (${age()}):\n    ${tail}` };
    return { ok: false, note: `build failed after ${took}:\n    ${tail}` };
  }
  return { ok: true, note: `built now (${reason}; ${took})` };
}

/**
 * The bundle unpacked as the Dockerfile's runtime stage has it (/app), with
 * node_modules standing in for `yarn workspaces focus --production`: every
 * package of the repository's node_modules linked, our workspace packages
 * pointing at the bundle's built copies.
 */
function unpack(dir: string): void {
  execFileSync('tar', ['-xzf', BUNDLE, '-C', dir]);
  const nm = path.join(dir, 'node_modules');
  fs.mkdirSync(nm);
  const repoNm = path.join(REPO_ROOT, 'node_modules');
  for (const entry of fs.readdirSync(repoNm)) {
    if (entry.startsWith('.') || ['@internal', 'backend', 'app'].includes(entry)) continue;
    fs.symlinkSync(path.join(repoNm, entry), path.join(nm, entry));
  }
  fs.mkdirSync(path.join(nm, '@internal'));
  for (const p of fs.readdirSync(path.join(dir, 'plugins'))) {
    const { name } = JSON.parse(fs.readFileSync(path.join(dir, 'plugins', p, 'package.json'), 'utf8'));
    if (String(name).startsWith('@internal/')) fs.symlinkSync(path.join(dir, 'plugins', p), path.join(nm, name));
  }
  fs.symlinkSync(path.join(dir, 'packages/backend'), path.join(nm, 'backend'));
  fs.symlinkSync(path.join(dir, 'packages/app'), path.join(nm, 'app'));
}

function procStatus(pid: number): { rss: number; hwm: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

interface Start {
  variant: 'ours' | 'without';
  round: number;
  readyMs: number;
  rssReady: number;
  rssCreate: number;
  peak: number;
  create: string;
  error?: string;
}

async function startOnce(
  dir: string,
  sandbox: RunningSandbox,
  variant: 'ours' | 'without',
  round: number,
  how: { entry: string; env: Record<string, string> },
): Promise<Start> {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-bench-fp-'));
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const appConfig = yaml.parse(fs.readFileSync(path.join(REPO_ROOT, 'app-config.yaml'), 'utf8'));
  const overlay = {
    app: { baseUrl },
    backend: {
      baseUrl,
      listen: { port },
      cors: { origin: baseUrl },
      database: { client: 'better-sqlite3', connection: { directory: path.join(run, 'sqlite') } },
    },
    integrations: {
      gitlab: [{ host: new URL(sandbox.urls.gitlab).host, apiBaseUrl: `${sandbox.urls.gitlab}/api/v4`, baseUrl: sandbox.urls.gitlab, token: 'sandbox-token' }],
    },
    goldenPath: {
      gitlab: { host: new URL(sandbox.urls.gitlab).host },
      aws: { endpoint: sandbox.urls.aws },
      argocd: { url: sandbox.urls.argocd },
      kubernetes: { url: sandbox.urls.kubernetes },
    },
    ...GUEST_SIGN_IN_CONFIG,
    // app-config.yaml's file locations are relative to packages/backend of the repository.
    catalog: {
      locations: (appConfig.catalog?.locations ?? []).map((l: any) =>
        l.type === 'file' ? { ...l, target: path.resolve(BACKEND_DIR, l.target) } : l,
      ),
    },
  };
  const overlayFile = path.join(run, 'app-config.bench.yaml');
  fs.writeFileSync(overlayFile, yaml.stringify(overlay));

  const started = performance.now();
  const child = spawn(process.execPath, [how.entry, '--config', path.join(REPO_ROOT, 'app-config.yaml'), '--config', overlayFile], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'development', ...how.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  const exited = new Promise<void>(resolve => child.on('exit', () => resolve()));
  const result: Start = { variant, round, readyMs: NaN, rssReady: NaN, rssCreate: NaN, peak: NaN, create: 'n/a' };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output.slice(-2000)}`);
      if (performance.now() - started > 180_000) throw new Error(`not ready after 180 s: ${output.slice(-2000)}`);
      const status = await fetch(`${baseUrl}/.backstage/health/v1/readiness`).then(r => r.status, () => 0);
      if (status === 200) break;
      await sleep(100);
    }
    result.readyMs = performance.now() - started;
    result.rssReady = procStatus(child.pid!).rss;

    // One Create through the scaffolder, as a user would.
    const { backstageIdentity } = await (await fetch(`${baseUrl}/api/auth/guest/refresh?env=development`)).json();
    const api = (p: string, init: RequestInit = {}) =>
      fetch(`${baseUrl}${p}`, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${backstageIdentity.token}` } });
    const deadline = Date.now() + 120_000;
    while ((await api('/api/catalog/entities/by-name/template/default/nodejs-service')).status !== 200) {
      if (Date.now() > deadline) throw new Error('template never appeared in the catalog');
      await sleep(250);
    }
    const res = await api('/api/scaffolder/v2/tasks', {
      method: 'POST',
      body: JSON.stringify({ templateRef: 'template:default/nodejs-service', values: form(`fp-${variant === 'ours' ? 'a' : 'b'}-${process.pid % 1000}-${round}`) }),
    });
    if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
    const { id } = await res.json();
    const createStarted = Date.now();
    let status = 'open';
    while (!['completed', 'failed', 'cancelled'].includes(status)) {
      if (Date.now() - createStarted > 180_000) throw new Error(`task still ${status} after 180 s`);
      await sleep(250);
      status = (await (await api(`/api/scaffolder/v2/tasks/${id}`)).json()).status;
    }
    let why = '';
    if (status !== 'completed') {
      const events: any[] = await (await api(`/api/scaffolder/v2/tasks/${id}/events`)).json();
      why = events.filter(e => e.type === 'log').map(e => String(e.body?.message ?? '')).filter(m => /rror/.test(m)).pop()?.split('\n')[0] ?? '';
    }
    result.create = `${status} in ${((Date.now() - createStarted) / 1000).toFixed(1)} s${why ? ` (${why.slice(0, 100)})` : ''}`;
    const after = procStatus(child.pid!);
    result.rssCreate = after.rss;
    result.peak = after.hwm;
  } catch (e) {
    result.error = String(e instanceof Error ? e.message : e).slice(0, 3000);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(run, { recursive: true, force: true });
  }
  return result;
}

export async function footprintSection(sandbox: RunningSandbox, o: BenchOptions, summary: Summary): Promise<void> {
  heading('4. Backend footprint: production build, ours vs without our modules');
  const bundle = ensureBundle(o);
  note(`Bundle: packages/backend/dist/bundle.tar.gz, ${bundle.note}`);
  if (!bundle.ok) {
    summary.problem(`footprint: ${bundle.note}`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-bench-bundle-'));
  try {
    unpack(dir);
    const entry = path.join(dir, 'packages/backend/dist/index.cjs.js');
    const built = fs.readFileSync(entry, 'utf8');
    const source = fs.readFileSync(path.join(BACKEND_DIR, 'src/index.ts'), 'utf8');
    let without: { entry: string; env: Record<string, string> } | undefined;
    if (built.includes(WITHOUT_SWITCH)) {
      note(`"Without": ${WITHOUT_SWITCH}=1 (the switch in packages/backend/src/index.ts, present in the bundle).`);
      without = { entry: 'packages/backend', env: { [WITHOUT_SWITCH]: '1' } };
    } else {
      const where = source.includes(WITHOUT_SWITCH)
        ? 'is in packages/backend/src/index.ts but not in this bundle (rebuild: --build always)'
        : 'does not exist yet in packages/backend/src/index.ts';
      note(`"Without": the switch ${WITHOUT_SWITCH} ${where}.`);
      const matches = built.match(OUR_MODULES) ?? [];
      if (matches.length === 2) {
        const patched = path.join(dir, 'packages/backend/dist/index.without-golden-path.cjs.js');
        fs.writeFileSync(patched, built.replace(OUR_MODULES, '/* left out by yarn bench */'));
        note('Stand-in until it exists: a copy of the built entry point without the two backend.add() lines of our modules');
        note('(packages/backend/dist/index.without-golden-path.cjs.js in the throwaway copy; same effect as the switch).');
        without = { entry: 'packages/backend/dist/index.without-golden-path.cjs.js', env: {} };
      } else {
        note(`Could not find the two backend.add() lines of our modules in the built entry point (${matches.length} found): "without" not measured.`);
      }
      summary.problem(`footprint: the switch ${WITHOUT_SWITCH} ${where}; proposed snippet for packages/backend/src/index.ts printed in section 4`);
      console.log(`\n  Proposed switch for packages/backend/src/index.ts (replaces the two backend.add lines of our modules):\n`);
      console.log(SWITCH_SNIPPET.split('\n').map(l => `    ${l}`).join('\n'));
      console.log();
    }
    note(`Run as the Dockerfile does (node packages/backend, cwd = the unpacked bundle) with app-config.yaml + an overlay`);
    note(`(sandbox URLs, a fresh SQLite directory per start, catalog file locations made absolute), NODE_ENV=development:`);
    note('the config validator refuses guest sign-in and SQLite under NODE_ENV=production, and a Create needs guest sign-in here.');
    note('node_modules: the repository\'s, linked (stands in for `yarn workspaces focus --production`), our packages from the bundle.');
    note(`Start -> /.backstage/health/v1/readiness 200 (polled every 100 ms); VmRSS at readiness and after one Create; peak = VmHWM.`);

    const starts: Start[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const variant of ['ours', 'without'] as const) {
        if (variant === 'without' && !without) continue;
        const how = variant === 'ours' ? { entry: 'packages/backend', env: {} } : without!;
        const s = await startOnce(dir, sandbox, variant, round, how);
        starts.push(s);
        const error = s.error ? `\n    ERROR: ${s.error.split('\n').slice(0, 12).join('\n    ')}` : '';
        console.log(
          `  round ${round} ${variant.padEnd(7)}  ready ${ms(s.readyMs).padStart(9)}  RSS ${mb(s.rssReady).padStart(7)}  after Create ${mb(
            s.rssCreate,
          ).padStart(7)}  peak ${mb(s.peak).padStart(7)}  Create ${s.create}${error}`,
        );
        if (s.error) summary.problem(`footprint: ${variant} round ${round}: ${s.error.split('\n')[0].slice(0, 200)}`);
        else if (variant === 'ours' && !s.create.startsWith('completed')) {
          summary.problem(`footprint: ours round ${round}: the Create did not complete (${s.create}); "after one Create" is after a failed one`);
        }
      }
    }
    const of = (v: Start['variant'], k: 'readyMs' | 'rssReady' | 'rssCreate' | 'peak') =>
      median(starts.filter(s => s.variant === v && Number.isFinite(s[k])).map(s => s[k]));
    const rows: Array<[string, 'readyMs' | 'rssReady' | 'rssCreate' | 'peak', (v: number) => string]> = [
      ['start -> readiness', 'readyMs', ms],
      ['RSS at readiness', 'rssReady', mb],
      ['RSS after one Create', 'rssCreate', mb],
      ['peak RSS (VmHWM) after the Create', 'peak', mb],
    ];
    console.log();
    table([
      [`median of ${o.rounds} rounds`, 'ours', 'without', 'ours / without'],
      ...rows.map(([label, k, f]) => [label, f(of('ours', k)), f(of('without', k)), ratio(of('ours', k) / of('without', k))]),
    ]);
    note('"Without" cannot run the golden-path template (its actions are missing): its Create fails at the first step,');
    note('so "after one Create" compares a real Create with a failed one. Target: ours / without <= 1.1.');
    for (const [label, k] of rows.slice(0, 3)) {
      const r = of('ours', k) / of('without', k);
      summary.add({
        section: 'footprint',
        figure: `${label}, ours / without`,
        value: Number.isFinite(r)
          ? `${ratio(r)} (${(k === 'readyMs' ? ms : mb)(of('ours', k))} / ${(k === 'readyMs' ? ms : mb)(of('without', k))})`
          : `ours ${(k === 'readyMs' ? ms : mb)(of('ours', k))}; without n/a`,
        target: '<= 1.1×',
        met: Number.isFinite(r) ? r <= 1.1 : undefined,
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
