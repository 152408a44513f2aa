import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreatePolicyCommand, GetPolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { FaultRule, HungRequest, RunningSandbox, startDefaultSandbox } from './index';

const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }],
});

describe('fault rules: crash points and matching', () => {
  let root: string;
  let sandbox: RunningSandbox;
  const aws = () => ({
    endpoint: sandbox.urls.aws,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });

  const admin = (p: string, init: RequestInit = {}) =>
    fetch(`${sandbox.urls.gitlab}/__admin${p}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    });
  const addRule = (rule: FaultRule) => admin('/faults', { method: 'POST', body: JSON.stringify(rule) });
  const log = async (): Promise<{ operations: string[]; hung: HungRequest[] }> => (await admin('/log')).json();
  const waitFor = async (what: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await what()) return;
      await new Promise(r => setTimeout(r, 25));
    }
    throw new Error('condition never became true');
  };
  const gitlab = (p: string, body?: unknown, signal?: AbortSignal) =>
    fetch(`${sandbox.urls.gitlab}/api/v4${p}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'PRIVATE-TOKEN': 't', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-faults-'));
    sandbox = await startDefaultSandbox({
      dataDir: path.join(root, 'data'),
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
    });
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("hangs before: no answer, no effect, shown in the log at once, released by DELETE", async () => {
    await addRule({ service: 'gitlab', operation: 'POST /api/v4/projects', match: '"hung-one"', hang: 'before' });
    const hung = gitlab('/projects', { name: 'hung-one', namespace_id: 'apps' });
    const outcome = hung.then(
      r => `answered ${r.status}`,
      () => 'connection closed',
    );
    await waitFor(async () => (await log()).hung.length === 1);
    const { operations, hung: held } = await log();
    expect(operations).toEqual(['gitlab POST /api/v4/projects']);
    expect(held).toEqual([
      expect.objectContaining({ service: 'gitlab', operation: 'POST /api/v4/projects', hang: 'before', method: 'POST' }),
    ]);

    // Another service's call of the same operation is not matched.
    expect((await gitlab('/projects', { name: 'other-one', namespace_id: 'apps' })).status).toBe(201);
    expect((await gitlab('/projects/apps%2Fhung-one')).status).toBe(404);

    expect((await admin('/faults', { method: 'DELETE' })).status).toBe(204);
    expect(await outcome).toBe('connection closed');
    expect((await gitlab('/projects/apps%2Fhung-one')).status).toBe(404);
    expect((await log()).hung).toEqual([]);
  }, 20_000);

  it('hangs after: the call takes effect, then never answers', async () => {
    await addRule({ service: 'aws', operation: 'CreateRepository', match: 'after-repo', hang: 'after' });
    const ecr = new ECRClient(aws());
    const controller = new AbortController();
    const pending = ecr
      .send(new CreateRepositoryCommand({ repositoryName: 'after-repo' }), { abortSignal: controller.signal })
      .then(
        () => 'answered',
        () => 'gave up',
      );
    await waitFor(async () => (await log()).hung.length === 1);
    expect((await log()).hung[0]).toMatchObject({ service: 'aws', operation: 'CreateRepository', hang: 'after' });
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['after-repo'] }));
    expect(described.repositories?.[0]?.repositoryName).toBe('after-repo');
    // The client going away ends the hang too.
    controller.abort();
    expect(await pending).toBe('gave up');
    await waitFor(async () => (await log()).hung.length === 0);
  }, 20_000);

  it('matches IAM calls by action and body, and Kubernetes calls by path', async () => {
    await addRule({ service: 'aws', operation: 'CreatePolicy', match: 'policy-b', status: 500 });
    const iam = new IAMClient(aws());
    await expect(iam.send(new CreatePolicyCommand({ PolicyName: 'policy-a', PolicyDocument: DOCUMENT }))).resolves.toBeDefined();
    await expect(iam.send(new CreatePolicyCommand({ PolicyName: 'policy-b', PolicyDocument: DOCUMENT }))).rejects.toMatchObject({
      name: 'ServiceFailureException',
    });
    await expect(
      iam.send(new GetPolicyCommand({ PolicyArn: 'arn:aws:iam::000000000000:policy/policy-b' })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });

    await addRule({ service: 'kubernetes', operation: 'PATCH namespaces', match: '/namespaces/team-b', failNth: 1, status: 503 });
    const apply = (name: string) =>
      fetch(`${sandbox.urls.kubernetes}/api/v1/namespaces/${name}?fieldManager=t`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer t', 'content-type': 'application/apply-patch+yaml' },
        body: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`,
      });
    expect((await apply('team-a')).status).toBe(201);
    expect((await apply('team-b')).status).toBe(503);
    expect((await apply('team-b')).status).toBe(201);
  }, 20_000);

  it('hangs a git push before it takes effect', async () => {
    const created = await (await gitlab('/projects', { name: 'pushy', namespace_id: 'apps' })).json();
    await gitlab(`/projects/${created.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'first',
      actions: [{ action: 'create', file_path: 'a.txt', content: 'a' }],
    });
    await addRule({ service: 'gitlab', operation: 'git-receive-pack', hang: 'before' });
    const refs = await fetch(`${sandbox.urls.gitlab}/apps/pushy.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Basic ${Buffer.from('u:sandbox-token').toString('base64')}` },
    });
    expect(refs.status).toBe(200);
    // A push request that would delete main: held, and main is untouched.
    const head = /([0-9a-f]{40}) refs\/heads\/main/.exec(await refs.text())![1];
    const line = `${head} ${'0'.repeat(40)} refs/heads/main\0 report-status\n`;
    const pkt = `${(line.length + 4).toString(16).padStart(4, '0')}${line}0000`;
    const push = fetch(`${sandbox.urls.gitlab}/apps/pushy.git/git-receive-pack`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('u:sandbox-token').toString('base64')}`,
        'content-type': 'application/x-git-receive-pack-request',
      },
      body: pkt,
    }).then(
      () => 'answered',
      () => 'closed',
    );
    await waitFor(async () => (await log()).hung.length === 1);
    expect((await (await gitlab('/projects/apps%2Fpushy/repository/branches/main')).json()).commit.id).toBe(head);
    await admin('/faults', { method: 'DELETE' });
    expect(await push).toBe('closed');
    expect((await (await gitlab('/projects/apps%2Fpushy/repository/branches/main')).json()).commit.id).toBe(head);
  }, 20_000);
});
