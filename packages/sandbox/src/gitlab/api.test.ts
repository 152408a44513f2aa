import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Gitlab } from '@gitbeaker/rest';
import { RunningSandbox, startDefaultSandbox } from '../index';
import { GitLabState } from './state';

const run = promisify(execFile);

let root: string;
let sandbox: RunningSandbox;
let base: string;

async function api(p: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const res = await fetch(`${base}/api/v4${p}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'PRIVATE-TOKEN': init.token ?? 't', 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

const gitEnv = () => ({
  PATH: process.env.PATH,
  HOME: root,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Tester',
  GIT_AUTHOR_EMAIL: 'tester@example.com',
  GIT_COMMITTER_NAME: 'Tester',
  GIT_COMMITTER_EMAIL: 'tester@example.com',
});

async function git(args: string[], cwd = root): Promise<string> {
  return (await run('git', args, { cwd, env: gitEnv() })).stdout;
}

const withCredentials = (token: string, user = 'gitlab-ci-token') => base.replace('://', `://${user}:${token}@`);

async function project(name: string, extra: object = {}) {
  const res = await api('/projects', { body: { name, namespace_id: 'apps', ...extra } });
  expect(res.status).toBe(201);
  return res.body as { id: number; path_with_namespace: string; web_url: string; http_url_to_repo: string };
}

async function commit(id: number, body: object) {
  const res = await api(`/projects/${id}/repository/commits`, { body: { branch: 'main', commit_message: 'change', ...body } });
  return res;
}

/** A local HTTP receiver for project hooks. */
async function receiver() {
  const received: { headers: http.IncomingHttpHeaders; body: any }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.end('ok');
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const waitFor = async (n: number) => {
    for (let i = 0; i < 200 && received.length < n; i++) await new Promise(r => setTimeout(r, 25));
    expect(received.length).toBeGreaterThanOrEqual(n);
  };
  return { url, received, waitFor, close: () => new Promise(r => server.close(r)) };
}

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-gitlab-api-'));
  sandbox = await startDefaultSandbox({ dataDir: path.join(root, 'data'), ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 } });
  base = sandbox.urls.gitlab;
});

afterEach(async () => {
  await sandbox.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('GitLab fake: naming rules', () => {
  it.each([
    ['badges', 'badges is a reserved name'],
    ['Tree', 'Tree is a reserved name'],
    ['a--b', 'must not start or end with a special character and must not contain consecutive special characters.'],
    ['_a', 'must not start or end with a special character and must not contain consecutive special characters.'],
    ['x.git', "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"],
    ['a b', "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"],
  ])('refuses the project path %j', async (p, message) => {
    const res = await api('/projects', { body: { name: 'x', path: p, namespace_id: 'apps' } });
    expect(res.status).toBe(400);
    expect(res.body.message.path).toContain(message);
  });

  it('accepts ordinary paths and refuses bad names', async () => {
    expect((await api('/projects', { body: { path: 'my.app_2-x', namespace_id: 'apps' } })).status).toBe(201);
    const badName = await api('/projects', { body: { name: '-x', path: 'ok', namespace_id: 'apps' } });
    expect(badName.status).toBe(400);
    expect(Object.keys(badName.body.message)).toEqual(['name']);
  });
});

describe('GitLab fake: project listing and archiving', () => {
  it('lists projects by topic, search, subgroups and archived, a page at a time', async () => {
    await project('alpha', { topics: ['golden-path-idp', 'node'] });
    await project('beta', { topics: ['golden-path-idp'], description: 'the second' });
    await project('gamma');
    const gitops = await api('/projects', { body: { name: 'alpha-gitops', namespace_id: 'platform/gitops', topics: ['golden-path-idp'] } });
    expect(gitops.status).toBe(201);

    const names = (r: { body: { path: string }[] }) => r.body.map(p => p.path).sort();
    expect(names(await api('/projects?topic=golden-path-idp'))).toEqual(['alpha', 'alpha-gitops', 'beta']);
    expect(names(await api('/projects?topic=golden-path-idp,node'))).toEqual(['alpha']);
    expect(names(await api('/groups/apps/projects?search=second'))).toEqual(['beta']);
    expect(names(await api('/groups/platform/projects'))).toEqual([]);
    expect(names(await api('/groups/platform/projects?include_subgroups=true'))).toEqual(['alpha-gitops']);

    const page1 = await api('/groups/apps/projects?per_page=2&order_by=name&sort=asc');
    expect(page1.body.map((p: { path: string }) => p.path)).toEqual(['alpha', 'beta']);
    expect(page1.headers.get('x-total')).toBe('3');
    expect(page1.headers.get('x-next-page')).toBe('2');
    const page2 = await api('/groups/apps/projects?per_page=2&page=2&order_by=name&sort=asc');
    expect(page2.body.map((p: { path: string }) => p.path)).toEqual(['gamma']);
    expect(page2.headers.get('x-next-page')).toBe('');

    const archived = await api('/projects/apps%2Fbeta/archive', { method: 'POST' });
    expect(archived.status).toBe(201);
    expect(archived.body.archived).toBe(true);
    expect(names(await api('/groups/apps/projects?archived=false'))).toEqual(['alpha', 'gamma']);
    expect(names(await api('/groups/apps/projects?archived=true'))).toEqual(['beta']);
    const unarchived = await api('/projects/apps%2Fbeta/unarchive', { method: 'POST' });
    expect(unarchived.body.archived).toBe(false);

    // gitbeaker follows the pages.
    const all = await new Gitlab({ host: base, token: 't' }).Groups.allProjects('apps', { perPage: 1 });
    expect(all.map(p => p.path).sort()).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('refuses pushes to an archived project, through the API and over git', async () => {
    const p = await project('frozen');
    expect((await commit(p.id, { actions: [{ action: 'create', file_path: 'a', content: 'a' }] })).status).toBe(201);
    const clone = path.join(root, 'clone');
    await git(['clone', '--quiet', `${withCredentials('sandbox-token')}/apps/frozen.git`, clone]);
    await api(`/projects/${p.id}/archive`, { method: 'POST' });

    const refused = await commit(p.id, { actions: [{ action: 'create', file_path: 'b', content: 'b' }] });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ message: '403 Forbidden' });
    fs.writeFileSync(path.join(clone, 'c'), 'c');
    await git(['add', 'c'], clone);
    await git(['commit', '--quiet', '-m', 'c'], clone);
    await expect(git(['push', '--quiet', 'origin', 'main'], clone)).rejects.toThrow(/403|not allowed/);
    // Reading still works.
    await git(['fetch', '--quiet', 'origin'], clone);
  }, 30_000);
});

describe('GitLab fake: branches, commits and compare', () => {
  it('creates a branch from start_branch with byte-exact binary and executable files, compares and deletes it', async () => {
    const p = await project('filestore');
    const first = await commit(p.id, {
      actions: [
        { action: 'create', file_path: 'README.md', content: '# files\n' },
        { action: 'create', file_path: 'old.txt', content: 'line 1\nline 2\n' },
        { action: 'create', file_path: 'big.txt', content: Array.from({ length: 20 }, (_v, i) => `row ${i}\n`).join('') },
      ],
    });
    expect(first.status).toBe(201);

    const binary = crypto.randomBytes(4096);
    const onBranch = await api(`/projects/${p.id}/repository/commits`, {
      body: {
        branch: 'feature/x',
        start_branch: 'main',
        commit_message: 'Feature',
        actions: [
          { action: 'create', file_path: 'bin/tool.bin', content: binary.toString('base64'), encoding: 'base64' },
          { action: 'create', file_path: 'bin/run.sh', content: '#!/bin/sh\necho hi\n', execute_filemode: true },
          { action: 'update', file_path: 'old.txt', content: 'line 1\nline two\n' },
          { action: 'chmod', file_path: 'README.md', execute_filemode: true },
        ],
      },
    });
    expect(onBranch.status).toBe(201);
    expect(onBranch.body.parent_ids).toEqual([first.body.id]);
    // main is untouched.
    expect((await api(`/projects/${p.id}/repository/branches/main`)).body.commit.id).toBe(first.body.id);
    const branch = await api(`/projects/${p.id}/repository/branches/feature%2Fx`);
    expect(branch.body).toMatchObject({ name: 'feature/x', default: false, commit: { id: onBranch.body.id } });

    const clone = path.join(root, 'clone');
    await git(['clone', '--quiet', '--branch', 'feature/x', `${withCredentials('sandbox-token')}/apps/filestore.git`, clone]);
    expect(fs.readFileSync(path.join(clone, 'bin/tool.bin')).equals(binary)).toBe(true);
    expect(fs.statSync(path.join(clone, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    expect(fs.statSync(path.join(clone, 'old.txt')).mode & 0o111).toBe(0);
    const modes = await git(['ls-files', '-s'], clone);
    expect(modes).toMatch(/^100755 \S+ 0\tREADME\.md$/m);
    expect(modes).toMatch(/^100755 \S+ 0\tbin\/run\.sh$/m);
    expect(modes).toMatch(/^100644 \S+ 0\tbin\/tool\.bin$/m);
    const file = await api(`/projects/${p.id}/repository/files/bin%2Frun.sh?ref=feature%2Fx`);
    expect(file.body.execute_filemode).toBe(true);

    const compare = await api(`/projects/${p.id}/repository/compare?from=main&to=feature%2Fx`);
    expect(compare.status).toBe(200);
    expect(compare.body.commits.map((c: { id: string }) => c.id)).toEqual([onBranch.body.id]);
    expect(compare.body.commit.id).toBe(onBranch.body.id);
    const diffs = Object.fromEntries(compare.body.diffs.map((d: any) => [d.new_path, d]));
    expect(Object.keys(diffs).sort()).toEqual(['README.md', 'bin/run.sh', 'bin/tool.bin', 'old.txt']);
    expect(diffs['old.txt']).toMatchObject({ old_path: 'old.txt', new_file: false, deleted_file: false, renamed_file: false });
    expect(diffs['old.txt'].diff).toBe('@@ -1,2 +1,2 @@\n line 1\n-line 2\n+line two\n');
    expect(diffs['bin/run.sh']).toMatchObject({ new_file: true, b_mode: '100755', diff: '@@ -0,0 +1,2 @@\n+#!/bin/sh\n+echo hi\n' });
    expect(diffs['README.md']).toMatchObject({ a_mode: '100644', b_mode: '100755', diff: '' });

    // Renames and deletions.
    await api(`/projects/${p.id}/repository/commits`, {
      body: {
        branch: 'feature/x',
        commit_message: 'Move',
        actions: [
          { action: 'move', file_path: 'moved.txt', previous_path: 'big.txt' },
          { action: 'delete', file_path: 'bin/tool.bin' },
        ],
      },
    });
    const moved = await api(`/projects/${p.id}/repository/compare?from=main&to=feature%2Fx`);
    const byPath = Object.fromEntries(moved.body.diffs.map((d: any) => [d.new_path, d]));
    expect(byPath['moved.txt']).toMatchObject({ old_path: 'big.txt', renamed_file: true, new_file: false, diff: '' });
    expect(byPath['bin/tool.bin']).toBeUndefined();

    const created = await api(`/projects/${p.id}/repository/branches`, { body: { branch: 'other', ref: 'main' } });
    expect(created.status).toBe(201);
    expect(created.body.commit.id).toBe(first.body.id);
    expect((await api(`/projects/${p.id}/repository/branches`, { body: { branch: 'other', ref: 'main' } })).body).toEqual({
      message: 'Branch already exists',
    });
    expect((await api(`/projects/${p.id}/repository/branches`, { body: { branch: 'x', ref: 'nope' } })).body).toEqual({
      message: 'Invalid reference name: nope',
    });
    expect((await api(`/projects/${p.id}/repository/branches/other`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/projects/${p.id}/repository/branches/other`)).status).toBe(404);
    expect((await api(`/projects/${p.id}/repository/branches/main`, { method: 'DELETE' })).status).toBe(405);
  }, 30_000);
});

describe('GitLab fake: merge requests', () => {
  it('creates, lists, updates and diffs merge requests, one open per source and target', async () => {
    const p = await project('mrs');
    await commit(p.id, { actions: [{ action: 'create', file_path: 'a.txt', content: 'a\n' }] });
    await api(`/projects/${p.id}/repository/commits`, {
      body: { branch: 'feat', start_branch: 'main', commit_message: 'Feat', actions: [{ action: 'update', file_path: 'a.txt', content: 'b\n' }] },
    });

    const created = await api(`/projects/${p.id}/merge_requests`, {
      body: { source_branch: 'feat', target_branch: 'main', title: 'Bump a', description: 'Makes a b', labels: 'deps,golden-path' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      iid: 1,
      state: 'opened',
      source_branch: 'feat',
      target_branch: 'main',
      labels: ['deps', 'golden-path'],
      web_url: `${p.web_url}/-/merge_requests/1`,
      references: { full: 'apps/mrs!1' },
      diff_refs: { head_sha: expect.stringMatching(/^[0-9a-f]{40}$/) },
    });

    const again = await api(`/projects/${p.id}/merge_requests`, { body: { source_branch: 'feat', target_branch: 'main', title: 'Again' } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ message: ['Another open merge request already exists for this source branch: !1'] });

    const listed = (q: string) => api(`/projects/${p.id}/merge_requests?${q}`).then(r => r.body.map((m: { iid: number }) => m.iid));
    expect(await listed('state=opened')).toEqual([1]);
    expect(await listed('state=merged')).toEqual([]);
    expect(await listed('source_branch=feat')).toEqual([1]);
    expect(await listed('labels=deps')).toEqual([1]);
    expect(await listed('labels=other')).toEqual([]);
    expect(await listed('search=makes')).toEqual([1]);

    const updated = await api(`/projects/${p.id}/merge_requests/1`, {
      method: 'PUT',
      body: { title: 'Bump a to b', description: 'New text', labels: 'deps' },
    });
    expect(updated.body).toMatchObject({ title: 'Bump a to b', description: 'New text', labels: ['deps'] });
    expect((await api(`/projects/${p.id}/merge_requests/1`)).body.title).toBe('Bump a to b');

    const diffs = await api(`/projects/${p.id}/merge_requests/1/diffs`);
    expect(diffs.body).toEqual([
      expect.objectContaining({ old_path: 'a.txt', new_path: 'a.txt', diff: '@@ -1 +1 @@\n-a\n+b\n', new_file: false }),
    ]);
    const changes = await api(`/projects/${p.id}/merge_requests/1/changes`);
    expect(changes.body.changes).toEqual(diffs.body);

    // Closing frees the pair for a new one.
    await api(`/projects/${p.id}/merge_requests/1`, { method: 'PUT', body: { state_event: 'close' } });
    const second = await api(`/projects/${p.id}/merge_requests`, { body: { source_branch: 'feat', target_branch: 'main', title: 'Again' } });
    expect(second.status).toBe(201);
    expect(second.body.iid).toBe(2);
    expect((await api(`/projects/${p.id}/merge_requests/99`)).status).toBe(404);
  });

  it('force-replaces a branch with one commit on top of start_sha, and the open merge request shows only that commit', async () => {
    const p = await project('forced');
    const first = await commit(p.id, { actions: [{ action: 'create', file_path: 'a.txt', content: 'a\n' }] });
    const onBranch = (body: object) =>
      api(`/projects/${p.id}/repository/commits`, { body: { branch: 'upgrade', commit_message: 'Upgrade', ...body } });
    const old = await onBranch({ start_sha: first.body.id, actions: [{ action: 'update', file_path: 'a.txt', content: 'b\n' }] });
    expect(old.status).toBe(201);
    await api(`/projects/${p.id}/merge_requests`, { body: { source_branch: 'upgrade', target_branch: 'main', title: 'Upgrade' } });
    // main moves on; the branch is rebuilt on top of it.
    const second = await commit(p.id, { actions: [{ action: 'create', file_path: 'c.txt', content: 'c\n' }] });

    // Without force an existing branch keeps its history.
    const stacked = await onBranch({ start_sha: second.body.id, actions: [{ action: 'update', file_path: 'a.txt', content: 'x\n' }] });
    expect(stacked.body.parent_ids).toEqual([old.body.id]);

    const forced = await onBranch({
      start_sha: second.body.id,
      force: true,
      actions: [{ action: 'update', file_path: 'a.txt', content: 'd\n' }],
    });
    expect(forced.status).toBe(201);
    expect(forced.body.parent_ids).toEqual([second.body.id]);
    expect((await api(`/projects/${p.id}/repository/branches/upgrade`)).body.commit.id).toBe(forced.body.id);
    const diffs = await api(`/projects/${p.id}/merge_requests/1/diffs`);
    expect(diffs.body).toEqual([
      expect.objectContaining({ new_path: 'a.txt', diff: '@@ -1 +1 @@\n-a\n+d\n' }),
    ]);
   }, 30_000);
});

describe('GitLab fake: hooks, tokens and variables', () => {
  it('sends a Push Hook for API commits and git pushes, and never fails a push for a dead receiver', async () => {
    const hook = await receiver();
    try {
      const p = await project('hooked');
      const added = await api(`/projects/${p.id}/hooks`, {
        body: { url: hook.url, push_events: true, token: 'hook-secret', enable_ssl_verification: false },
      });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ url: hook.url, push_events: true, enable_ssl_verification: false });
      expect(added.body.token).toBeUndefined();
      await api(`/projects/${p.id}/hooks`, { body: { url: 'http://127.0.0.1:1/down' } });
      expect((await api(`/projects/${p.id}/hooks`)).body).toHaveLength(2);

      const first = await commit(p.id, { actions: [{ action: 'create', file_path: 'a.txt', content: 'a' }] });
      expect(first.status).toBe(201);
      await hook.waitFor(1);
      const [event] = hook.received;
      expect(event.headers['x-gitlab-event']).toBe('Push Hook');
      expect(event.headers['x-gitlab-token']).toBe('hook-secret');
      expect(event.body).toMatchObject({
        object_kind: 'push',
        ref: 'refs/heads/main',
        before: '0'.repeat(40),
        after: first.body.id,
        project: { path_with_namespace: 'apps/hooked', web_url: p.web_url, git_http_url: p.http_url_to_repo },
        repository: { git_http_url: p.http_url_to_repo },
        total_commits_count: 1,
        commits: [expect.objectContaining({ id: first.body.id, added: ['a.txt'], modified: [], removed: [] })],
      });

      const clone = path.join(root, 'clone');
      await git(['clone', '--quiet', `${withCredentials('sandbox-token')}/apps/hooked.git`, clone]);
      fs.writeFileSync(path.join(clone, 'b.txt'), 'b');
      await git(['add', 'b.txt'], clone);
      await git(['commit', '--quiet', '-m', 'Pushed b'], clone);
      await git(['push', '--quiet', 'origin', 'main'], clone);
      await hook.waitFor(2);
      const pushed = hook.received[1].body;
      expect(pushed).toMatchObject({ ref: 'refs/heads/main', before: first.body.id, total_commits_count: 1 });
      expect(pushed.commits).toEqual([expect.objectContaining({ title: 'Pushed b', added: ['b.txt'] })]);
      expect(pushed.after).toBe((await git(['rev-parse', 'HEAD'], clone)).trim());

      const hookId = added.body.id;
      expect((await api(`/projects/${p.id}/hooks/${hookId}`, { method: 'DELETE' })).status).toBe(204);
      expect((await api(`/projects/${p.id}/hooks/${hookId}`)).status).toBe(404);
    } finally {
      await hook.close();
    }
  }, 30_000);

  it('authenticates git over HTTP with project access and deploy tokens; rotated, revoked and expired ones stop working', async () => {
    const p = await project('guarded');
    await commit(p.id, { actions: [{ action: 'create', file_path: 'a.txt', content: 'a' }] });
    const other = await project('other');
    const tokenFor = async (id: number, scopes: string[]) =>
      (await api(`/projects/${id}/access_tokens`, { body: { name: 'ci', scopes, access_level: 40, expires_at: '2099-01-01' } })).body;

    const clone = path.join(root, 'clone');
    await git(['clone', '--quiet', `${base}/apps/guarded.git`, clone]);
    let n = 0;
    const pushWith = async (token: string, user = 'gitlab-ci-token') => {
      n += 1;
      fs.writeFileSync(path.join(clone, `f${n}.txt`), String(n));
      await git(['add', '.'], clone);
      await git(['commit', '--quiet', '-m', `c${n}`], clone);
      return git(['push', '--quiet', `${withCredentials(token, user)}/apps/guarded.git`, 'HEAD:main'], clone).then(
        () => 'pushed',
        (e: Error) => (/403|not allowed/.test(e.message) ? 'forbidden' : 'denied'),
      );
    };

    const writer = await tokenFor(p.id, ['write_repository']);
    expect(await pushWith(writer.token)).toBe('pushed');
    expect(await pushWith(writer.token, 'anyone')).toBe('pushed');
    expect(await pushWith((await tokenFor(p.id, ['read_repository'])).token)).toBe('forbidden');
    expect(await pushWith((await tokenFor(other.id, ['write_repository'])).token)).toBe('denied');
    expect(await pushWith('glpat-unknown')).toBe('denied');

    const rotated = await api(`/projects/${p.id}/access_tokens/${writer.id}/rotate`, { method: 'POST', body: { expires_at: '2099-06-01' } });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ name: 'ci', active: true, revoked: false, expires_at: '2099-06-01', token: expect.stringMatching(/^glpat-/) });
    expect(rotated.body.id).not.toBe(writer.id);
    expect(await pushWith(writer.token)).toBe('denied');
    expect(await pushWith(rotated.body.token)).toBe('pushed');
    const listed = (await api(`/projects/${p.id}/access_tokens`)).body;
    expect(listed.find((t: { id: number }) => t.id === writer.id)).toMatchObject({ revoked: true, active: false });
    expect((await api('/version', { token: writer.token })).status).toBe(401);

    expect((await api(`/projects/${p.id}/access_tokens/${rotated.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await pushWith(rotated.body.token)).toBe('denied');

    // An expired token (its expires_at day is over) is refused like a revoked one.
    const expiring = await tokenFor(p.id, ['write_repository']);
    const state = new GitLabState(path.join(root, 'data'));
    state.accessTokens.put({ ...state.accessTokens.get(expiring.id)!, expires_at: '2020-01-01' });
    state.close();
    expect(await pushWith(expiring.token)).toBe('denied');
    expect((await api(`/projects/${p.id}/access_tokens/${expiring.id}`)).body).toMatchObject({ active: false });

    const deploy = await api(`/projects/${p.id}/deploy_tokens`, { body: { name: 'deployer', scopes: ['read_repository', 'write_repository'] } });
    expect(deploy.status).toBe(201);
    expect(deploy.body).toMatchObject({ name: 'deployer', username: `gitlab+deploy-token-${deploy.body.id}`, revoked: false, expired: false });
    expect(await pushWith(deploy.body.token, deploy.body.username)).toBe('pushed');
    const reader = await api(`/projects/${p.id}/deploy_tokens`, { body: { name: 'reader', scopes: ['read_repository'], expires_at: '2099-01-01' } });
    expect(await pushWith(reader.body.token, reader.body.username)).toBe('forbidden');
    await git(['fetch', '--quiet', `${withCredentials(reader.body.token, reader.body.username)}/apps/guarded.git`], clone);
    expect((await api(`/projects/${p.id}/deploy_tokens`)).body.map((t: { name: string }) => t.name)).toEqual(['deployer', 'reader']);
    expect((await api(`/projects/${p.id}/deploy_tokens/${deploy.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await pushWith(deploy.body.token, deploy.body.username)).toBe('denied');
  }, 60_000);

  it('stores masked_and_hidden variables and never answers their value', async () => {
    const p = await project('vars');
    const created = await api(`/projects/${p.id}/variables`, {
      body: { key: 'SECRET', value: 'c2VjcmV0LXZhbHVl', masked_and_hidden: true, protected: true },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'SECRET', masked: true, hidden: true, protected: true });
    expect(created.body).not.toHaveProperty('value');
    const listed = (await api(`/projects/${p.id}/variables`)).body;
    expect(listed).toEqual([expect.objectContaining({ key: 'SECRET', hidden: true })]);
    expect(JSON.stringify(listed)).not.toContain('c2VjcmV0LXZhbHVl');
    expect((await api(`/projects/${p.id}/variables/SECRET`)).body).not.toHaveProperty('value');
    // The value can be replaced, never read; hidden cannot be undone.
    expect((await api(`/projects/${p.id}/variables/SECRET`, { method: 'PUT', body: { value: 'bmV3LXNlY3JldA==' } })).status).toBe(200);
    expect((await api(`/projects/${p.id}/variables/SECRET`, { method: 'PUT', body: { masked: false } })).status).toBe(400);
    const plain = await api(`/projects/${p.id}/variables`, { body: { key: 'PLAIN', value: 'visible' } });
    expect(plain.body).toMatchObject({ value: 'visible', hidden: false });
  });
});
