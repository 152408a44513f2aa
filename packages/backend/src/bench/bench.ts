/*
 * `yarn bench`: how the golden path performs, printed, never asserted.
 *
 * Usage (repository root; `yarn workspace backend bench ...` is the same):
 *
 *   yarn bench                                   # every section: ~9 min on a quiet 2-core machine,
 *                                                # + 1-4 min when the bundle must be rebuilt
 *   yarn bench --only concurrency                # one section (see --help for all)
 *   yarn bench --only scale,critical-path
 *   yarn bench --skip footprint,deploy
 *   yarn bench --quick                           # fewer repetitions, ArgoCD polling at 20 s
 *   yarn bench --help                            # every option
 *
 * Sections, in the order they run (numbered as in the brief):
 *   1. concurrency    N concurrent Creates (20) vs one alone: p50, p95, max, p95/single, failures.
 *   3. critical-path  every external call delayed (200 ms): the provisioning step's wall time vs
 *                     the critical path derived from the sandbox's trace, with the chain listed.
 *   5. deploy         commit to a GitOps repository -> ArgoCD Synced at it: polling only (180 s,
 *                     one worst-case sample) and through a GitLab hook to ArgoCD's webhook.
 *   2. scale          Create and name-check latency with 1,000 services seeded vs none.
 *   4. footprint      the production bundle (yarn build:backend; rebuilt when older than its
 *                     sources): start -> readiness and RSS, ours vs without our two modules,
 *                     A/B alternating for 3 rounds.
 *
 * Sections 1, 2, 3 and 5 share one portal (the real backend from source with
 * app-config.yaml, as the e2e tests start it) and one in-process sandbox; the
 * portal is stopped before section 4, whose backends use the same sandbox.
 * Each section prints a table and its target; a summary closes the run.
 * Nothing is asserted: this machine is shared and noisy, so read the ratios
 * within one run. A Create that fails is reported with its error message.
 */
/* eslint-disable no-console */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @backstage/no-undeclared-imports
import yaml from 'yaml';
// A script run from source with dev dependencies, never part of the bundle,
// so it may use the test harness and the sandbox.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { RunningSandbox } from '@internal/sandbox';
// eslint-disable-next-line no-restricted-imports
import { dropDatabases, Portal, startPortal, startTestSandbox } from '../__testUtils__/portal';
// eslint-disable-next-line no-restricted-imports
import { REPO_ROOT } from '../__testUtils__/backendProcess';
import { concurrencySection } from './concurrency';
import { criticalPathSection } from './criticalPathSection';
import { deploySection } from './deploy';
import { footprintSection } from './footprint';
import { GUEST_SIGN_IN_CONFIG, OWNER, portalHarness, sandboxAdmin } from './harness';
import { heading, ms, note, parseOptions, Section, Summary } from './lib';
import { scaleSection } from './scale';

async function main() {
  const began = Date.now();
  const o = parseOptions(process.argv.slice(2));
  const summary = new Summary();
  console.log(`yarn bench ${process.argv.slice(2).join(' ')}`.trim());
  console.log(
    `${new Date().toISOString()}  node ${process.version}  ${os.cpus().length} cores  ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB  load ${os.loadavg().map(l => l.toFixed(1)).join(' ')}`,
  );
  console.log(`sections: ${o.sections.join(', ') || '(none)'}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-bench-'));
  let sandbox: RunningSandbox | undefined;
  let portal: Portal | undefined;
  const pgPrefix = `idp_bench_${process.pid}_`;
  const run = async (section: Section, fn: () => Promise<void>) => {
    if (!o.sections.includes(section)) return;
    const t0 = Date.now();
    try {
      await fn();
    } catch (error) {
      const text = error instanceof Error ? error.stack ?? error.message : String(error);
      console.log(`\n  SECTION FAILED: ${text.split('\n').slice(0, 15).join('\n  ')}`);
      summary.problem(`${section}: section failed: ${text.split('\n')[0]}`);
    }
    note(`(section ${section}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  };

  try {
    sandbox = await startTestSandbox(dir);
    const admin = sandboxAdmin(sandbox);
    const needsPortal = o.sections.some(s => s !== 'footprint');
    if (needsPortal) {
      const configured = yaml.parse(fs.readFileSync(path.join(REPO_ROOT, 'app-config.yaml'), 'utf8'))?.scaffolder?.concurrentTasksLimit;
      let tasksLimit = "10 (Backstage's default; not set in app-config.yaml)";
      if (configured !== undefined) tasksLimit = `${configured} (app-config.yaml)`;
      if (o.tasksLimit !== undefined) tasksLimit = `${o.tasksLimit} (--tasks-limit)`;
      heading('Portal');
      const t0 = Date.now();
      portal = await startPortal({
        sandbox,
        database: o.db === 'pg' ? { client: 'pg', prefix: pgPrefix } : { client: 'sqlite' },
        config: {
          ...GUEST_SIGN_IN_CONFIG,
          ...(o.tasksLimit !== undefined ? { scaffolder: { concurrentTasksLimit: o.tasksLimit } } : {}),
        },
      });
      note(`backend from source ready, template in the catalog: ${ms(Date.now() - t0)} (${o.db}); services owned by ${OWNER}`);
      const h = portalHarness(portal);
      // The first Create pays for JIT, caches and the catalog's first processing.
      const warm = await h.createObserved(h.uniqueName('warmup'));
      note(`warm-up Create: ${warm.status} in ${ms(warm.done.hi - warm.created)}${warm.message ? `: ${warm.message}` : ''}`);
      if (warm.status !== 'completed') summary.problem(`warm-up Create ${warm.status}: ${warm.message}`);
      const p = portal;
      const s = sandbox;
      await run('concurrency', () => concurrencySection(p, admin, h.uniqueName, o, summary, tasksLimit));
      await run('critical-path', () => criticalPathSection(h, admin, o, summary));
      // Before scale: ArgoCD polls every application one after another, so the
      // 1,000 seeded ones would add their poll time to the polling-only sample.
      await run('deploy', () => deploySection(h, admin, s, o, summary));
      await run('scale', () => scaleSection(h, admin, s, p, o, summary));
      await portal.close();
      portal = undefined;
    }
    const s = sandbox;
    await run('footprint', () => footprintSection(s, o, summary));
  } finally {
    await portal?.close().catch(() => undefined);
    await sandbox?.close().catch(() => undefined);
    if (o.db === 'pg' && o.sections.some(s => s !== 'footprint')) await dropDatabases(pgPrefix).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  summary.print(Date.now() - began);
}

main().then(
  () => process.exit(0),
  error => {
    console.error(error);
    process.exit(1);
  },
);
