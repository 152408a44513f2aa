import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunningSandbox, startDefaultSandbox } from '../index';

/** ArgoCD's sync model: it deploys what it has observed, and observes by polling or webhook. */
describe('ArgoCD fake: observed revisions, polling and webhooks', () => {
  let root: string;
  let sandbox: RunningSandbox;

  const gitlab = async (p: string, body?: unknown) => {
    const res = await fetch(`${sandbox.urls.gitlab}/api/v4${p}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'PRIVATE-TOKEN': 't', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json();
  };
  const argocd = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sandbox.urls.argocd}${p}`, {
      method,
      headers: { authorization: 'Bearer t', 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const commit = async (id: number, file: string) =>
    (await gitlab(`/projects/${id}/repository/commits`, {
      branch: 'main',
      commit_message: `Add ${file}`,
      actions: [{ action: 'create', file_path: `manifests/${file}`, content: `kind: ConfigMap\nmetadata:\n  name: ${file}\n` }],
    })).id as string;
  const app = async () => (await argocd('GET', '/api/v1/applications/shop')).body;
  const waitForRevision = async (sha: string) => {
    for (let i = 0; i < 200; i++) {
      const status = (await app()).status;
      if (status.sync.revision === sha && status.sync.status === 'Synced') return status;
      await new Promise(r => setTimeout(r, 25));
    }
    throw new Error(`never synced ${sha}`);
  };

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-argocd-sync-'));
    sandbox = await startDefaultSandbox({ dataDir: path.join(root, 'data'), ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 } });
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('stays on the observed revision until a webhook or a poll notices new commits', async () => {
    const repo = await gitlab('/projects', { name: 'shop-gitops', namespace_id: 'platform/gitops' });
    const first = await commit(repo.id, 'a.yaml');
    const repoURL = repo.http_url_to_repo;
    expect((await argocd('POST', '/api/v1/projects', {
      project: {
        metadata: { name: 'shop' },
        spec: { sourceRepos: [repoURL], destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'shop' }] },
      },
    })).status).toBe(200);
    const created = await argocd('POST', '/api/v1/applications', {
      metadata: { name: 'shop', labels: { team: 'checkout' } },
      spec: {
        project: 'shop',
        source: { repoURL, path: 'manifests', targetRevision: 'HEAD' },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'shop' },
        syncPolicy: { automated: { prune: true } },
      },
    });
    expect(created.status).toBe(200);
    expect(created.body.status.sync).toMatchObject({ status: 'Synced', revision: first });

    // A new commit: ArgoCD has not noticed it (polling every 180 s by default).
    const second = await commit(repo.id, 'b.yaml');
    let status = (await app()).status;
    expect(status.sync).toMatchObject({ status: 'OutOfSync', revision: first });
    expect(status.history.map((h: { revision: string }) => h.revision)).toEqual([first]);
    const firstFinished = status.operationState.finishedAt;

    // The GitLab webhook makes it look at once; a wrong secret is refused.
    await fetch(`${sandbox.urls.argocd}/__admin/argocd`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ webhookSecret: 's3cret' }),
    });
    const forged = await argocd('POST', '/api/webhook', { ref: 'refs/heads/main', project: { path_with_namespace: 'platform/gitops/shop-gitops' } }, {
      'X-Gitlab-Event': 'Push Hook',
      'X-Gitlab-Token': 'wrong',
    });
    expect(forged.status).toBe(400);
    expect((await app()).status.sync.revision).toBe(first);
    await gitlab(`/projects/${repo.id}/hooks`, { url: `${sandbox.urls.argocd}/api/webhook`, token: 's3cret', push_events: true });
    const third = await commit(repo.id, 'c.yaml');
    status = await waitForRevision(third);
    expect(status.history.map((h: { revision: string; id: number }) => [h.id, h.revision])).toEqual([
      [0, first],
      [1, third],
    ]);
    expect(status.operationState.syncResult.revision).toBe(third);
    expect(Date.parse(status.operationState.finishedAt)).toBeGreaterThanOrEqual(Date.parse(firstFinished));
    expect(second).not.toBe(third);

    // Polling, at an interval the test sets, notices commits without a webhook.
    const hooks = await gitlab(`/projects/${repo.id}/hooks`);
    await fetch(`${sandbox.urls.gitlab}/api/v4/projects/${repo.id}/hooks/${hooks[0].id}`, {
      method: 'DELETE',
      headers: { 'PRIVATE-TOKEN': 't' },
    });
    const fourth = await commit(repo.id, 'd.yaml');
    expect((await app()).status.sync).toMatchObject({ status: 'OutOfSync', revision: third });
    const config = await fetch(`${sandbox.urls.argocd}/__admin/argocd`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pollIntervalMs: 50 }),
    });
    expect(await config.json()).toMatchObject({ pollIntervalMs: 50 });
    await waitForRevision(fourth);

    // Listing by label selector.
    const listed = await argocd('GET', '/api/v1/applications?selector=team%3Dcheckout');
    expect(listed.body.items.map((a: { metadata: { name: string } }) => a.metadata.name)).toEqual(['shop']);
    expect((await argocd('GET', '/api/v1/applications?selector=team%3Dother')).body.items).toEqual([]);
  }, 30_000);

  it('has the default project from the start and checks names', async () => {
    const projects = await argocd('GET', '/api/v1/projects');
    expect(projects.body.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['default']);
    const clash = await argocd('POST', '/api/v1/projects', {
      project: { metadata: { name: 'default' }, spec: { sourceRepos: ['https://x.example.com/a.git'] } },
    });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toBe('existing project spec is different, use upsert flag to force update');
    const bad = await argocd('POST', '/api/v1/projects', { project: { metadata: { name: 'Bad_Name' }, spec: {} } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/a lowercase RFC 1123 subdomain/);
  });
});
