/* eslint-disable no-console */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @backstage/no-undeclared-imports
import { RunningSandbox } from '@internal/sandbox';
// eslint-disable-next-line no-restricted-imports
import { Portal, startTestSandbox } from '../__testUtils__/portal';
import { isCatalogRead, ObservedTask, portalHarness, sandboxAdmin, TracedCall } from './harness';
import { BenchOptions, heading, median, ms, note, ratio, Summary, table } from './lib';

type Harness = ReturnType<typeof portalHarness>;
type Admin = ReturnType<typeof sandboxAdmin>;

/**
 * The lookups `idp:platform:name:check` makes (placesTaken in
 * platformNameCheck.ts), all at once as it makes them, over the same public
 * APIs: both GitLab projects, the ECR repository, the IAM policy and user,
 * the ArgoCD project and application, the namespace, and the catalog.
 * (The run-journal claim is a database read inside the backend: not here.)
 */
function nameCheckLookups(sandbox: RunningSandbox, portal: Portal, name: string): Array<[string, () => Promise<Response>]> {
  const bearer = { authorization: 'Bearer sandbox-token' };
  const gitlab = { 'PRIVATE-TOKEN': 'sandbox-token' };
  const iam = (params: Record<string, string>) => () =>
    fetch(sandbox.urls.aws, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Version: '2010-05-08', ...params }).toString(),
    });
  return [
    ['GitLab app project', () => fetch(`${sandbox.urls.gitlab}/api/v4/projects/${encodeURIComponent(`apps/${name}`)}`, { headers: gitlab })],
    ['GitLab GitOps project', () => fetch(`${sandbox.urls.gitlab}/api/v4/projects/${encodeURIComponent(`platform/gitops/${name}-gitops`)}`, { headers: gitlab })],
    [
      'ECR DescribeRepositories',
      () =>
        fetch(sandbox.urls.aws, {
          method: 'POST',
          headers: { 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories', 'content-type': 'application/x-amz-json-1.1' },
          body: JSON.stringify({ registryId: '000000000000', repositoryNames: [name] }),
        }),
    ],
    ['IAM GetPolicy', iam({ Action: 'GetPolicy', PolicyArn: `arn:aws:iam::000000000000:policy/idp-${name}-ecr-push-pull` })],
    ['IAM GetUser', iam({ Action: 'GetUser', UserName: `idp-${name}-ci` })],
    ['ArgoCD project', () => fetch(`${sandbox.urls.argocd}/api/v1/projects/${name}`, { headers: bearer })],
    ['ArgoCD application', () => fetch(`${sandbox.urls.argocd}/api/v1/applications/${name}`, { headers: bearer })],
    ['Kubernetes namespace', () => fetch(`${sandbox.urls.kubernetes}/api/v1/namespaces/${name}`, { headers: bearer })],
    [
      'catalog entities by name',
      () =>
        portal.api(
          `/api/catalog/entities?filter=${encodeURIComponent(`metadata.name=${name},metadata.namespace=default`)}&fields=kind,metadata.name,metadata.namespace`,
        ),
    ],
  ];
}

/** One replay: every lookup at once; the total and each lookup's time. */
async function replayOnce(sandbox: RunningSandbox, portal: Portal, name: string) {
  const lookups = nameCheckLookups(sandbox, portal, name);
  const t0 = performance.now();
  const each = await Promise.all(
    lookups.map(async ([, run]) => {
      const s = performance.now();
      const res = await run();
      await res.arrayBuffer();
      if (![200, 400, 404].includes(res.status)) throw new Error(`lookup answered ${res.status}`);
      return performance.now() - s;
    }),
  );
  return { total: performance.now() - t0, each, labels: lookups.map(([l]) => l) };
}

interface StateFigures {
  creates: number[];
  /** The check's calls in each Create's trace: first start to last end. */
  checkSpans: number[];
  checkCalls: number[];
  failures: string[];
}

interface Replays {
  totals: number[];
  perLookup: number[][];
  labels: string[];
}

/**
 * The name check's calls: started before its step was seen ending and
 * answered before the template step was seen starting (the trace is
 * cleared just before the Create; earlier steps make no calls).
 */
function checkCalls(task: ObservedTask, trace: TracedCall[]): TracedCall[] {
  const ended = task.steps['name-free']?.end?.hi;
  const before = task.steps.fetch?.start?.hi ?? ended;
  if (before === undefined || ended === undefined) return [];
  return trace.filter(c => c.start < ended && c.end <= before && !isCatalogRead(c));
}

async function measureCreates(h: Harness, admin: Admin, o: BenchOptions, label: string): Promise<StateFigures> {
  const f: StateFigures = { creates: [], checkSpans: [], checkCalls: [], failures: [] };
  for (let i = 0; i < o.scaleCreates; i++) {
    await admin.clear();
    const task = await h.createObserved(h.uniqueName(`scale-${label}`));
    const trace = await admin.trace();
    if (task.status !== 'completed') {
      f.failures.push(`${task.name} ${task.status}: ${task.message}`);
      continue;
    }
    f.creates.push(task.done.hi - task.created);
    const calls = checkCalls(task, trace);
    f.checkCalls.push(calls.length);
    if (calls.length) f.checkSpans.push(Math.max(...calls.map(c => c.end)) - Math.min(...calls.map(c => c.start)));
  }
  return f;
}

/**
 * The lookups replayed against two sandboxes in turn (ABBA...), so drift on
 * this shared machine hits both alike: `empty` has nothing, `full` the
 * seeded services. Names nobody has, as a Create checks them.
 */
async function measureReplays(empty: RunningSandbox, full: RunningSandbox, portal: Portal, count: number) {
  const out = { empty: { totals: [], perLookup: [], labels: [] } as Replays, full: { totals: [], perLookup: [], labels: [] } as Replays };
  for (let i = 0; i < 5; i++) {
    await replayOnce(empty, portal, `free-warm-${i}`);
    await replayOnce(full, portal, `free-warm-${i}`);
  }
  for (let i = 0; i < count; i++) {
    const order = i % 2 ? (['full', 'empty'] as const) : (['empty', 'full'] as const);
    for (const which of order) {
      const r = await replayOnce(which === 'empty' ? empty : full, portal, `free-${process.pid % 1000}-${i}`);
      out[which].totals.push(r.total);
      out[which].perLookup.push(r.each);
      out[which].labels = r.labels;
    }
  }
  return out;
}

export async function scaleSection(
  h: Harness,
  admin: Admin,
  sandbox: RunningSandbox,
  portal: Portal,
  o: BenchOptions,
  summary: Summary,
): Promise<void> {
  heading(`2. Scale: ${o.seedCount.toLocaleString('en-US')} services present vs an empty platform`);
  note(`Creates: ${o.scaleCreates} one at a time before seeding, then ${o.scaleCreates} after (same portal and sandbox).`);
  note(`Name check: its calls within each Create (from the trace), and ${o.scaleLookups} replays of its lookups per state,`);
  note('alternating between a fresh empty sandbox and the seeded one (after 5 warm-up replays each).');
  note('"Empty" = nothing seeded; the portal holds only the services this run created so far.');
  note("ArgoCD's polling is paused during this section (all fakes share one process here; a poll of 1,000 apps would slow the others).");

  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-bench-empty-'));
  const emptySandbox = await startTestSandbox(scratchDir);
  const emptyAdmin = sandboxAdmin(emptySandbox);
  const before = await admin.argocd();
  let empty: StateFigures;
  let full: StateFigures;
  let replays: Awaited<ReturnType<typeof measureReplays>>;
  try {
    await admin.argocd({ pollIntervalMs: 3_600_000 });
    await emptyAdmin.argocd({ pollIntervalMs: 3_600_000 });
    empty = await measureCreates(h, admin, o, 'e');
    const seedPrefix = `svc${process.pid % 1000}`;
    const seeded = await admin.seed(o.seedCount, seedPrefix);
    note(`Seeded ${seeded.seeded.toLocaleString('en-US')} services (${seedPrefix}-00001...) with /__admin/seed in ${ms(seeded.ms)}: ` +
      'GitLab app + GitOps projects, ECR repository, IAM policy + user, ArgoCD project + application, namespace each. ' +
      "Not in the catalog (the seed is the sandbox's).");
    full = await measureCreates(h, admin, o, 's');
    replays = await measureReplays(emptySandbox, sandbox, portal, o.scaleLookups);
  } finally {
    await admin.argocd({ pollIntervalMs: before.pollIntervalMs });
    await emptySandbox.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }

  const row = (what: string, a: number[], b: number[], f = ms) => {
    const ma = median(a);
    const mbv = median(b);
    return [what, f(ma), f(mbv), ratio(mbv / ma), `${a.length}/${b.length}`];
  };
  const ms1 = (v: number) => `${v.toFixed(1)} ms`;
  table([
    ['median', 'empty', `${o.seedCount.toLocaleString('en-US')} present`, 'ratio', 'samples'],
    row('Create (sent -> finished)', empty.creates, full.creates),
    row('name check: its calls in the Create (trace span)', empty.checkSpans, full.checkSpans),
    row('name check: lookups replayed (all at once)', replays.empty.totals, replays.full.totals, ms1),
  ]);
  note(`name check calls seen per Create: ${[...empty.checkCalls, ...full.checkCalls].join(', ')} (8 expected: 2 GitLab, 3 AWS, 2 ArgoCD, 1 Kubernetes)`);
  note(`Create times: empty ${empty.creates.map(v => Math.round(v)).join(', ')} ms; present ${full.creates.map(v => Math.round(v)).join(', ')} ms`);
  console.log('\n  Each lookup of the replay (median; the catalog is the same portal for both):');
  table([
    ['lookup', 'empty', 'present', 'ratio'],
    ...replays.empty.labels.map((l, i) => {
      const a = median(replays.empty.perLookup.map(r => r[i]));
      const b = median(replays.full.perLookup.map(r => r[i]));
      return [l, ms1(a), ms1(b), ratio(b / a)];
    }),
  ]);
  note('Targets: each ratio <= 1.2.');
  for (const failure of [...empty.failures, ...full.failures]) {
    console.log(`  Create failed: ${failure}`);
    summary.problem(`scale: ${failure}`);
  }

  const createRatio = median(full.creates) / median(empty.creates);
  const checkRatio = median(full.checkSpans) / median(empty.checkSpans);
  const replayRatio = median(replays.full.totals) / median(replays.empty.totals);
  summary.add({
    section: 'scale',
    figure: `Create, ${o.seedCount} present / empty`,
    value: `${ratio(createRatio)} (${ms(median(full.creates))} / ${ms(median(empty.creates))}, n=${o.scaleCreates})`,
    target: '<= 1.2×',
    met: createRatio <= 1.2,
  });
  summary.add({
    section: 'scale',
    figure: 'name check calls in a Create (trace span)',
    value: `${ratio(checkRatio)} (${ms(median(full.checkSpans))} / ${ms(median(empty.checkSpans))})`,
    target: '<= 1.2×',
    met: checkRatio <= 1.2,
  });
  summary.add({
    section: 'scale',
    figure: 'name check lookups replayed',
    value: `${ratio(replayRatio)} (${median(replays.full.totals).toFixed(1)} / ${median(replays.empty.totals).toFixed(1)} ms, n=${o.scaleLookups})`,
    target: '<= 1.2×',
    met: replayRatio <= 1.2,
  });
}
