/* eslint-disable no-console */
// eslint-disable-next-line @backstage/no-undeclared-imports
import { RunningSandbox } from '@internal/sandbox';
import { portalHarness, sandboxAdmin } from './harness';
import { BenchOptions, heading, median, ms, note, sec, sleep, Summary, table } from './lib';

type Harness = ReturnType<typeof portalHarness>;
type Admin = ReturnType<typeof sandboxAdmin>;

const GITLAB_TOKEN = { 'PRIVATE-TOKEN': 'sandbox-token', 'content-type': 'application/json' };

interface Sample {
  how: string;
  /** Commit API call. */
  pushMs: number;
  /** Commit answered -> application Synced at that commit. */
  delayMs: number;
  /** What the application said right after the push. */
  afterPush: string;
}

export async function deploySection(
  h: Harness,
  admin: Admin,
  sandbox: RunningSandbox,
  o: BenchOptions,
  summary: Summary,
): Promise<void> {
  heading('5. Deploy delay: commit to the GitOps repository -> ArgoCD Synced at that commit');
  const task = await h.createObserved(h.uniqueName('deploy'));
  if (task.status !== 'completed') {
    console.log(`  The Create failed (${task.message}); nothing to deploy.`);
    summary.problem(`deploy: Create ${task.name} ${task.status}: ${task.message}`);
    return;
  }
  const name = task.name;
  const gitlab = (p: string, init: RequestInit = {}) =>
    fetch(`${sandbox.urls.gitlab}/api/v4${p}`, { ...init, headers: { ...GITLAB_TOKEN, ...(init.headers as Record<string, string>) } });
  const project = await (await gitlab(`/projects/${encodeURIComponent(`platform/gitops/${name}-gitops`)}`)).json();
  const application = async () => {
    const res = await fetch(`${sandbox.urls.argocd}/api/v1/applications/${name}`, { headers: { authorization: 'Bearer sandbox-token' } });
    return (await res.json()).status?.sync as { status?: string; revision?: string } | undefined;
  };

  let serial = 0;
  const pushAndWait = async (how: string, pollMs: number, timeoutMs: number): Promise<Sample | string> => {
    const sent = Date.now();
    const res = await gitlab(`/projects/${project.id}/repository/commits`, {
      method: 'POST',
      body: JSON.stringify({
        branch: project.default_branch ?? 'main',
        commit_message: `bench: deploy marker ${++serial}`,
        actions: [{ action: 'create', file_path: `bench/deploy-${Date.now()}-${serial}.txt`, content: `${new Date().toISOString()}\n` }],
      }),
    });
    if (res.status !== 201) return `commit failed: ${res.status} ${await res.text()}`;
    const sha: string = (await res.json()).id;
    const committed = Date.now();
    const first = await application();
    const afterPush = first?.revision === sha ? `${first?.status} (already at the commit)` : `${first?.status}`;
    for (;;) {
      const sync = await application();
      if (sync?.status === 'Synced' && sync.revision === sha) {
        return { how, pushMs: committed - sent, delayMs: Date.now() - committed, afterPush };
      }
      if (Date.now() - committed > timeoutMs) return `not Synced at ${sha.slice(0, 8)} after ${sec(timeoutMs)} (${sync?.status} at ${sync?.revision?.slice(0, 8)})`;
      await sleep(pollMs);
    }
  };

  const before = await admin.argocd();
  const results: Sample[] = [];
  const problems: string[] = [];
  const webhookUrl = `${sandbox.urls.argocd}/api/webhook`;
  try {
    // (b) With a GitLab project hook to ArgoCD's webhook: the platform's own, else ours.
    const hooks: any[] = await (await gitlab(`/projects/${project.id}/hooks`)).json();
    const argoHooks = hooks.filter(k => String(k.url).includes('/api/webhook'));
    let hookNote: string;
    if (argoHooks.length) {
      hookNote = `the service's own hook (${argoHooks.map(k => k.url).join(', ')}), registered by the Create`;
    } else if (before.webhookSecret) {
      hookNote = 'none registered by the Create, and ArgoCD has a webhook secret the bench does not know: not measured';
      problems.push('deploy: no hook on the GitOps repository and an unknown ArgoCD webhook secret; webhook delay not measured');
    } else {
      const res = await gitlab(`/projects/${project.id}/hooks`, {
        method: 'POST',
        body: JSON.stringify({ url: webhookUrl, push_events: true, push_events_branch_filter: project.default_branch ?? 'main', enable_ssl_verification: false }),
      });
      if (res.status !== 201) throw new Error(`registering the hook: ${res.status} ${await res.text()}`);
      argoHooks.push(await res.json());
      hookNote = `none registered by the Create; the bench registered ${webhookUrl} (push events, branch ${project.default_branch ?? 'main'})`;
    }
    const apps = await (await fetch(`${sandbox.urls.argocd}/api/v1/applications`, { headers: { authorization: 'Bearer sandbox-token' } })).json();
    note(`Service ${name}, repository platform/gitops/${name}-gitops, ArgoCD application ${name} (one of ${apps.items?.length ?? '?'} ArgoCD polls in turn).`);
    note(`Hook: ${hookNote}.`);
    note('Delay = commit API answered -> GET application shows sync.status Synced and sync.revision = the commit.');
    // A long poll interval (restarted now), so only the webhook can sync within the sample.
    await admin.argocd({ pollIntervalMs: o.argocdPollMs });
    if (argoHooks.length) {
      for (let i = 0; i < o.webhookSamples; i++) {
        const r = await pushAndWait('webhook', 50, 30_000);
        if (typeof r === 'string') problems.push(`deploy (webhook): ${r}`);
        else results.push(r);
      }
    }

    // (a) Polling only: the hooks removed, the poll timer restarted just before the push.
    for (const k of argoHooks) await gitlab(`/projects/${project.id}/hooks/${k.id}`, { method: 'DELETE' });
    for (let i = 0; i < o.pollSamples; i++) {
      await admin.argocd({ pollIntervalMs: o.argocdPollMs });
      note(`Polling-only sample ${i + 1}/${o.pollSamples}: waiting for ArgoCD's next poll (up to ${sec(o.argocdPollMs)})...`);
      const r = await pushAndWait('polling', 250, o.argocdPollMs + 60_000);
      if (typeof r === 'string') problems.push(`deploy (polling): ${r}`);
      else results.push(r);
    }
  } finally {
    await admin.argocd({ pollIntervalMs: before.pollIntervalMs });
  }

  const byHow = (how: string) => results.filter(r => r.how === how);
  const webhook = byHow('webhook');
  const polling = byHow('polling');
  table([
    ['', 'samples', 'median', 'max', 'commit API', 'status right after the push'],
    ...[
      [`(a) polling only, every ${sec(o.argocdPollMs)}`, polling] as const,
      ['(b) GitLab hook -> ArgoCD /api/webhook', webhook] as const,
    ].map(([label, s]) => [
      label,
      String(s.length),
      ms(median(s.map(r => r.delayMs))),
      ms(Math.max(...s.map(r => r.delayMs))),
      ms(median(s.map(r => r.pushMs))),
      [...new Set(s.map(r => r.afterPush))].join(', '),
    ]),
  ]);
  const isDefault = o.argocdPollMs === 180_000;
  note('(a) The poll timer restarts when the interval is set, just before the push: each sample is the worst case (about one interval).');
  note(`    A push at a random moment waits ${sec(o.argocdPollMs / 2)} on average. ${
    isDefault ? "180 s is ArgoCD's default timeout.reconciliation." : `NB: ${sec(o.argocdPollMs)} is not ArgoCD's default 180 s.`
  }`);
  note('Target: (b) < 10 s.');
  for (const p of problems) {
    console.log(`  ${p}`);
    summary.problem(p);
  }
  const wh = median(webhook.map(r => r.delayMs));
  summary.add({
    section: 'deploy',
    figure: 'commit -> Synced, GitLab hook to ArgoCD webhook',
    value: webhook.length ? `${ms(wh)} (median of ${webhook.length}, max ${ms(Math.max(...webhook.map(r => r.delayMs)))})` : 'n/a',
    target: '< 10 s',
    met: webhook.length ? wh < 10_000 : undefined,
  });
  summary.add({
    section: 'deploy',
    figure: `commit -> Synced, polling only (${sec(o.argocdPollMs)})`,
    value: polling.length ? `${ms(median(polling.map(r => r.delayMs)))} worst case (n=${polling.length}); mean ~${sec(o.argocdPollMs / 2)}` : 'n/a',
    target: '(reference)',
  });
}
