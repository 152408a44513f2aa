import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConflictError } from '@backstage/errors';
import { Gitlab } from '@gitbeaker/rest';
import { RunningSandbox, startDefaultSandbox } from '@internal/sandbox';
import { GitLabClient } from './GitLabClient';

// What proposing a change asks of GitLab (GitLabChangesApi), against the
// sandbox's GitLab: a real git repository behind GitLab's REST API v4.

let dir: string;
let sandbox: RunningSandbox;
let client: GitLabClient;
let projectId: number;

const blobId = (content: string) =>
  createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0${content}`).digest('hex');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-gitlab-changes-'));
  sandbox = await startDefaultSandbox({
    dataDir: path.join(dir, 'data'),
    ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
  });
  client = new GitLabClient({
    api: new Gitlab({ host: sandbox.urls.gitlab, token: 'sandbox-token' }),
    host: new URL(sandbox.urls.gitlab).host,
  });
  projectId = (
    await client.createProject({ groupPath: 'apps', name: 'changes', description: '', topics: [] })
  ).id;
  await client.commitFiles(projectId, {
    branch: 'main',
    message: 'Initial',
    files: [
      { path: 'a.yaml', content: 'a: 1\n' },
      { path: 'dir/b.yaml', content: 'b: 1\n' },
    ],
  });
}, 60_000);

afterAll(async () => {
  await sandbox?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('GitLabClient: proposing changes', () => {
  it('reads a branch head, its files with blob ids, and a file', async () => {
    const head = await client.getBranchHead(projectId, 'main');
    expect(head).toMatchObject({ sha: expect.stringMatching(/^[0-9a-f]{40}$/), message: 'Initial', parentIds: [] });
    expect(await client.listTree(projectId, head!.sha)).toEqual([
      { path: 'a.yaml', blobId: blobId('a: 1\n') },
      { path: 'dir/b.yaml', blobId: blobId('b: 1\n') },
    ]);
    expect(await client.readFile(projectId, 'dir/b.yaml', head!.sha)).toBe('b: 1\n');
    expect(await client.readFile(projectId, 'missing.yaml', 'main')).toBeUndefined();
    expect(await client.getBranchHead(projectId, 'no-such-branch')).toBeUndefined();
  });

  it('replaces a branch with one commit on top of a start sha (force), creating, updating and deleting files', async () => {
    const main = (await client.getBranchHead(projectId, 'main'))!;
    const first = await client.commitChanges(projectId, {
      branch: 'golden-path/upgrade',
      startSha: main.sha,
      force: true,
      message: 'Upgrade 1',
      changes: [{ action: 'update', path: 'a.yaml', content: 'a: 2\n' }],
    });
    // main moves on; the branch is rebuilt on top of it, not stacked.
    await client.commitFiles(projectId, { branch: 'main', message: 'More', files: [{ path: 'c.yaml', content: 'c\n' }] });
    const newMain = (await client.getBranchHead(projectId, 'main'))!;
    const second = await client.commitChanges(projectId, {
      branch: 'golden-path/upgrade',
      startSha: newMain.sha,
      force: true,
      message: 'Upgrade 2',
      changes: [
        { action: 'update', path: 'a.yaml', content: 'a: 3\n' },
        { action: 'create', path: 'new.yaml', content: 'n\n' },
        { action: 'delete', path: 'dir/b.yaml' },
      ],
    });
    const head = (await client.getBranchHead(projectId, 'golden-path/upgrade'))!;
    expect(head.sha).toBe(second.sha);
    expect(head.sha).not.toBe(first.sha);
    expect(head.parentIds).toEqual([newMain.sha]);
    expect((await client.listTree(projectId, head.sha)).map(f => f.path)).toEqual(['a.yaml', 'c.yaml', 'new.yaml']);
    expect(await client.readFile(projectId, 'a.yaml', 'golden-path/upgrade')).toBe('a: 3\n');
    expect(await client.lastCommitTouching(projectId, newMain.sha, 'a.yaml')).toBe(main.sha);
    expect(await client.lastCommitTouching(projectId, newMain.sha, 'c.yaml')).toBe(newMain.sha);
  });

  it('opens one merge request per branch, finds, updates and closes it', async () => {
    const opts = { sourceBranch: 'golden-path/upgrade', targetBranch: 'main' };
    expect(await client.findOpenMergeRequest(projectId, opts)).toBeUndefined();
    const mr = await client.createMergeRequest(projectId, {
      ...opts,
      title: 'Upgrade',
      description: 'What changed',
      labels: ['golden-path-upgrade'],
      removeSourceBranch: true,
    });
    expect(mr).toMatchObject({ iid: 1, title: 'Upgrade', state: 'opened', ...opts });
    expect(mr.webUrl).toMatch(/\/apps\/changes\/-\/merge_requests\/1$/);
    await expect(client.createMergeRequest(projectId, { ...opts, title: 'Again', description: '' })).rejects.toThrow(
      ConflictError,
    );
    expect(await client.findOpenMergeRequest(projectId, opts)).toMatchObject({ iid: 1, description: 'What changed' });
    expect(await client.updateMergeRequest(projectId, 1, { title: 'Draft: Upgrade', description: 'New' })).toMatchObject({
      title: 'Draft: Upgrade',
      description: 'New',
    });
    expect(await client.updateMergeRequest(projectId, 1, { stateEvent: 'close' })).toMatchObject({ state: 'closed' });
    expect(await client.findOpenMergeRequest(projectId, opts)).toBeUndefined();
  });
});
