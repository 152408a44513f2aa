import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetUserCommand, IAMClient, ListAttachedUserPoliciesCommand } from '@aws-sdk/client-iam';
import { RunningSandbox, startDefaultSandbox } from './index';

describe('POST /__admin/seed', () => {
  let root: string;
  let sandbox: RunningSandbox;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-seed-'));
    sandbox = await startDefaultSandbox({ dataDir: path.join(root, 'data'), ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 } });
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("creates every service's state in every fake, usable like state made through the APIs", async () => {
    const seeded = await fetch(`${sandbox.urls.kubernetes}/__admin/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 3, prefix: 'bench' }),
    });
    expect(await seeded.json()).toMatchObject({ seeded: 3 });
    // Seeding again is a no-op for what exists.
    expect((await fetch(`${sandbox.urls.gitlab}/__admin/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ names: ['bench-00001'] }),
    })).status).toBe(200);

    const gitlab = (p: string) => fetch(`${sandbox.urls.gitlab}/api/v4${p}`, { headers: { 'PRIVATE-TOKEN': 't' } });
    const listed = await (await gitlab('/projects?topic=golden-path-idp&per_page=100&order_by=path&sort=asc')).json();
    expect(listed.map((p: { path_with_namespace: string }) => p.path_with_namespace).sort()).toEqual([
      'apps/bench-00001',
      'apps/bench-00002',
      'apps/bench-00003',
      'platform/gitops/bench-00001-gitops',
      'platform/gitops/bench-00002-gitops',
      'platform/gitops/bench-00003-gitops',
    ]);
    expect(listed.every((p: { empty_repo: boolean }) => !p.empty_repo)).toBe(true);

    // The repository is made on first use: a commit lands on top of the seeded one.
    const commit = await fetch(`${sandbox.urls.gitlab}/api/v4/projects/apps%2Fbench-00002/repository/commits`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': 't', 'content-type': 'application/json' },
      body: JSON.stringify({ branch: 'main', commit_message: 'next', actions: [{ action: 'update', file_path: 'README.md', content: 'x' }] }),
    });
    expect(commit.status).toBe(201);
    expect((await commit.json()).parent_ids).toHaveLength(1);

    const app = await (
      await fetch(`${sandbox.urls.argocd}/api/v1/applications/bench-00003`, { headers: { authorization: 'Bearer t' } })
    ).json();
    expect(app.spec.source.repoURL).toBe(`${sandbox.urls.gitlab}/platform/gitops/bench-00003-gitops.git`);
    expect(app.status.sync.status).toBe('Synced');
    expect(app.status.health.status).toBe('Healthy');
    const projects = await (await fetch(`${sandbox.urls.argocd}/api/v1/projects`, { headers: { authorization: 'Bearer t' } })).json();
    expect(projects.items).toHaveLength(4);

    const namespace = await fetch(`${sandbox.urls.kubernetes}/api/v1/namespaces/bench-00001`, { headers: { authorization: 'Bearer t' } });
    expect((await namespace.json()).status.phase).toBe('Active');

    const config = {
      endpoint: sandbox.urls.aws,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    };
    const repos = await new ECRClient(config).send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map(r => r.repositoryName)).toEqual(['bench-00001', 'bench-00002', 'bench-00003']);
    const iam = new IAMClient(config);
    await expect(iam.send(new GetUserCommand({ UserName: 'idp-bench-00002-ci' }))).resolves.toBeDefined();
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'idp-bench-00002-ci' }))).AttachedPolicies).toEqual([
      { PolicyName: 'idp-bench-00002-ecr-push-pull', PolicyArn: 'arn:aws:iam::000000000000:policy/idp-bench-00002-ecr-push-pull' },
    ]);

    const bad = await fetch(`${sandbox.urls.gitlab}/__admin/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ names: ['Not_Valid'] }),
    });
    expect(bad.status).toBe(400);
  }, 30_000);
});
