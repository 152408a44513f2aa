import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaultRule } from '@internal/sandbox';
import { sandboxResourcesFor, startPortal } from '../__testUtils__/portal';

// End to end: the real backend (scaffolder, catalog) runs the golden-path
// template through the scaffolder's HTTP API against the sandbox.
jest.setTimeout(20 * 60_000);

type Portal = Awaited<ReturnType<typeof startPortal>>;
let portal: Portal;
let serial = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid % 1000}-${++serial}`;

const form = (name: string) => ({
  name,
  owner: 'group:default/team-payments',
  description: 'Takes payments: cards, "wallets" & refunds # fast',
  port: 3000,
  replicas: 2,
});

beforeAll(async () => {
  portal = await startPortal();
});
afterAll(async () => {
  await portal?.close();
});
afterEach(async () => {
  await fetch(`${portal.sandbox.urls.gitlab}/__admin/faults`, { method: 'DELETE' });
});

/** Clones over HTTP. Asynchronous: the sandbox serves from this process. */
async function clone(url: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-clone-'));
  await promisify(execFile)('git', ['clone', '--quiet', url, dir]);
  return dir;
}

describe('golden path, end to end', () => {
  it('creates everything a new service gets', async () => {
    const name = uniqueName('payments');
    const task = await portal.waitForTask(await portal.createService(form(name)));
    if (task.status !== 'completed') {
      throw new Error(`task ${task.status}: ${task.message}\n${task.log.join('\n')}`);
    }

    const links = task.output!.links.map((l: any) => l.url ?? l.entityRef);
    expect(links).toEqual([
      `${portal.sandbox.urls.gitlab}/apps/${name}`,
      `${portal.sandbox.urls.gitlab}/apps/${name}/-/pipelines`,
      expect.stringContaining(`/applications/argocd/${name}`),
      `https://${name}.apps.localhost`,
      `component:default/${name}`,
    ]);

    const app = await clone(`${portal.sandbox.urls.gitlab}/apps/${name}.git`);
    for (const file of ['package.json', 'package-lock.json', 'src/app.js', 'Dockerfile', '.gitlab-ci.yml', 'catalog-info.yaml']) {
      expect(fs.existsSync(path.join(app, file))).toBe(true);
    }
    expect(fs.readFileSync(path.join(app, 'catalog-info.yaml'), 'utf8')).toContain(`name: "${name}"`);
    const gitops = await clone(`${portal.sandbox.urls.gitlab}/platform/gitops/${name}-gitops.git`);
    for (const file of ['manifests/deployment.yaml', 'manifests/networkpolicy-default-deny.yaml', 'argocd/application.yaml']) {
      expect(fs.existsSync(path.join(gitops, file))).toBe(true);
    }
    expect(fs.readFileSync(path.join(gitops, 'manifests/deployment.yaml'), 'utf8')).toMatch(
      new RegExp(`image: 000000000000\\.dkr\\.ecr\\.eu-west-1\\.amazonaws\\.com/${name}:initial`),
    );

    expect((await sandboxResourcesFor(portal.sandbox, name)).sort()).toEqual(
      [
        `argocd application ${name}`,
        `argocd project ${name}`,
        `ecr repository ${name}`,
        `gitlab project apps/${name}`,
        `gitlab project platform/gitops/${name}-gitops`,
        `iam policy arn:aws:iam::000000000000:policy/idp-${name}-ecr-push-pull`,
        `iam user idp-${name}-ci`,
        `namespace ${name}`,
      ].sort(),
    );
    const argoApp = await (
      await fetch(`${portal.sandbox.urls.argocd}/api/v1/applications/${name}`, { headers: { authorization: 'Bearer t' } })
    ).json();
    expect(argoApp.status.sync.status).toBe('Synced');
    expect(argoApp.status.health.status).toBe('Healthy');
    const policies = await (
      await fetch(`${portal.sandbox.urls.kubernetes}/apis/networking.k8s.io/v1/namespaces/${name}/networkpolicies`, { headers: { authorization: 'Bearer t' } })
    ).json();
    expect(policies.items.length).toBeGreaterThanOrEqual(4);
    // The catalog processes a new location asynchronously.
    let entityStatus = 0;
    for (let i = 0; i < 120 && entityStatus !== 200; i++) {
      entityStatus = (await portal.api(`/api/catalog/entities/by-name/component/default/${name}`)).status;
      if (entityStatus !== 200) await new Promise(r => setTimeout(r, 500));
    }
    expect(entityStatus).toBe(200);
    fs.rmSync(app, { recursive: true, force: true });
    fs.rmSync(gitops, { recursive: true, force: true });
  });

  // One failure at each step that creates something. 403 is not retried by
  // any client, so the fault really fails the step.
  const faultPoints: Array<[string, FaultRule]> = [
    ['GitLab app project', { service: 'gitlab', operation: 'POST /api/v4/projects', failNth: 1, status: 403 }],
    ['GitLab GitOps project', { service: 'gitlab', operation: 'POST /api/v4/projects', failNth: 2, status: 403 }],
    ['GitLab app commit', { service: 'gitlab', operation: 'POST /api/v4/projects/:id/repository/commits', failNth: 1, status: 403 }],
    ['GitLab GitOps commit', { service: 'gitlab', operation: 'POST /api/v4/projects/:id/repository/commits', failNth: 2, status: 403 }],
    ['GitLab deploy token', { service: 'gitlab', operation: 'POST /api/v4/projects/:id/access_tokens', failNth: 1, status: 403 }],
    ['GitLab CI variable', { service: 'gitlab', operation: 'POST /api/v4/projects/:id/variables', failNth: 2, status: 403 }],
    ['ECR repository', { service: 'aws', operation: 'CreateRepository', failNth: 1, status: 403 }],
    ['ECR lifecycle policy', { service: 'aws', operation: 'PutLifecyclePolicy', failNth: 1, status: 403 }],
    ['IAM policy', { service: 'aws', operation: 'CreatePolicy', failNth: 1, status: 403 }],
    ['IAM user', { service: 'aws', operation: 'CreateUser', failNth: 1, status: 403 }],
    ['IAM access key', { service: 'aws', operation: 'CreateAccessKey', failNth: 1, status: 403 }],
    ['ArgoCD project', { service: 'argocd', operation: 'POST /api/v1/projects', failNth: 1, status: 403 }],
    ['ArgoCD application', { service: 'argocd', operation: 'POST /api/v1/applications', failNth: 1, status: 403 }],
    ['Kubernetes namespace', { service: 'kubernetes', operation: 'POST namespaces', failNth: 1, status: 403 }],
    ['Kubernetes NetworkPolicy', { service: 'kubernetes', operation: 'PATCH networkpolicies', failNth: 2, status: 403 }],
    ['Kubernetes RoleBinding', { service: 'kubernetes', operation: 'PATCH rolebindings', failNth: 1, status: 403 }],
    ['catalog registration (reading catalog-info.yaml)', { service: 'gitlab', operation: 'GET /api/v4/projects/:id/repository/files/:file_path/raw', status: 403 }],
  ];

  it('leaves nothing behind when any step fails (fault sweep)', async () => {
    const report: string[] = [];
    let orphans = 0;
    for (const [label, rule] of faultPoints) {
      const name = uniqueName('fault');
      await fetch(`${portal.sandbox.urls.gitlab}/__admin/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rules: [rule] }),
      });
      const task = await portal.waitForTask(await portal.createService(form(name)));
      // The fault must really have been hit, or this point proves nothing.
      const { operations } = await (await fetch(`${portal.sandbox.urls.gitlab}/__admin/log`)).json();
      expect({ label, hit: operations.filter((o: string) => o === `${rule.service} ${rule.operation}`).length >= (rule.failNth ?? 1) }).toEqual({ label, hit: true });
      const left = await sandboxResourcesFor(portal.sandbox, name);
      const catalog = (await portal.api(`/api/catalog/entities/by-name/component/default/${name}`)).status;
      if (catalog === 200) left.push(`catalog component ${name}`);
      orphans += left.length;
      report.push(`${label}: ${task.status}; ${left.length} left${left.length ? ` (${left.join(', ')})` : ''}`);
      expect({ label, status: task.status }).toEqual({ label, status: 'failed' });
      expect(task.message).toMatch(/Rolled back: |nothing was rolled back/);
      await fetch(`${portal.sandbox.urls.gitlab}/__admin/faults`, { method: 'DELETE' });
    }
    // eslint-disable-next-line no-console
    console.log(`e2e fault sweep, ${faultPoints.length} fault points, ${orphans} orphans:\n  ${report.join('\n  ')}`);
    expect(orphans).toBe(0);
  });

  it('lets exactly one of ten concurrent Creates of one name succeed', async () => {
    const name = uniqueName('race');
    const ids = await Promise.all(Array.from({ length: 10 }, () => portal.createService(form(name))));
    const results = await Promise.all(ids.map(id => portal.waitForTask(id, 300_000)));
    const completed = results.filter(r => r.status === 'completed');
    const failed = results.filter(r => r.status === 'failed');
    // eslint-disable-next-line no-console
    console.log(`concurrency: ${completed.length} completed, ${failed.length} failed: ${[...new Set(failed.map(f => f.message?.split('.')[0]))].join(' | ')}`);
    expect(completed).toHaveLength(1);
    for (const f of failed) {
      expect(f.message).toContain(`Service name "${name}" is already taken`);
    }
    expect(await sandboxResourcesFor(portal.sandbox, name)).toHaveLength(8);
  });
});
