import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import express from 'express';
import { Gitlab } from '@gitbeaker/rest';
import { GitLabClient } from '@internal/plugin-golden-path-node';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import { GITLAB_OPERATIONS, gitlabFake } from './index';

const execFileAsync = promisify(execFile);

const stub: SandboxFakeFactory = () => ({
  router: express.Router(),
  operationOf: () => 'x',
});

/** Starts a sandbox whose only real fake is GitLab, on free ports. */
function start(dataDir: string): Promise<RunningSandbox> {
  return startSandbox({
    dataDir,
    ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
    fakes: { gitlab: gitlabFake, argocd: stub, aws: stub, kubernetes: stub },
  });
}

let root: string;
let sandbox: RunningSandbox;
let base: string;

/** Runs git without blocking the event loop (the server lives in this process). */
async function git(args: string[], cwd = root): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'Tester',
      GIT_AUTHOR_EMAIL: 'tester@example.com',
      GIT_COMMITTER_NAME: 'Tester',
      GIT_COMMITTER_EMAIL: 'tester@example.com',
    },
  });
  return stdout;
}

function api(apiPath: string, init: RequestInit = {}, token: string | null = 't') {
  const headers = new Headers(init.headers);
  if (token) headers.set('PRIVATE-TOKEN', token);
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  return fetch(`${base}/api/v4${apiPath}`, { ...init, headers });
}

function newClient(host = base) {
  return new GitLabClient({
    api: new Gitlab({ host, token: 't' }),
    host: new URL(host).host,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

/** Creates apps/x with two files on main through the real client. */
async function seedProject(client = newClient()) {
  const project = await client.createProject({
    groupPath: 'apps',
    name: 'x',
    description: 'An app',
    topics: ['golden-path'],
  });
  await client.commitFiles(project.id, {
    branch: 'main',
    message: 'Initial files',
    files: [
      { path: 'catalog-info.yaml', content: 'kind: Component\n' },
      { path: 'src/index.js', content: 'console.log(1);\n' },
    ],
  });
  return project;
}

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-gitlab-'));
  sandbox = await start(path.join(root, 'data'));
  base = sandbox.urls.gitlab;
});

afterEach(async () => {
  await sandbox.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('gitlabFake', () => {
  it('serves every call of the real GitLabClient', async () => {
    const client = newClient();
    await expect(client.findProject('apps/x')).resolves.toBeUndefined();

    const project = await client.createProject({
      groupPath: 'apps',
      name: 'x',
      description: 'An app',
      topics: ['golden-path', 'node'],
    });
    expect(project).toEqual({
      id: expect.any(Number),
      pathWithNamespace: 'apps/x',
      webUrl: `${base}/apps/x`,
      httpUrlToRepo: `${base}/apps/x.git`,
      description: 'An app',
      topics: ['golden-path', 'node'],
      archived: false,
    });
    await expect(client.findProject('apps/x')).resolves.toEqual(project);

    const first = await client.commitFiles(project.id, {
      branch: 'main',
      message: 'Initial files',
      files: [
        { path: 'catalog-info.yaml', content: 'kind: Component\n' },
        { path: 'src/index.js', content: 'console.log(1);\n' },
      ],
    });
    // The second commit updates one file and adds another: the client
    // lists the tree to pick create or update per file.
    const second = await client.commitFiles(project.id, {
      branch: 'main',
      message: 'Update',
      files: [
        { path: 'src/index.js', content: 'console.log(2);\n' },
        { path: 'README.md', content: '# x\n' },
      ],
    });
    expect(second.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(second.sha).not.toBe(first.sha);
    const index = await api('/projects/apps%2Fx/repository/files/src%2Findex.js/raw?ref=main');
    expect(await index.text()).toBe('console.log(2);\n');
    const commits = await (await api(`/projects/${project.id}/repository/commits?ref_name=main`)).json();
    expect(commits.map((c: { title: string }) => c.title)).toEqual(['Update', 'Initial files']);
    expect(commits[0].parent_ids).toEqual([first.sha]);

    await client.protectBranch(project.id, 'main');
    await client.protectBranch(project.id, 'main'); // 409 → already protected, fine
    const protectedBranches = await (await api(`/projects/${project.id}/protected_branches`)).json();
    expect(protectedBranches).toEqual([
      expect.objectContaining({
        name: 'main',
        allow_force_push: false,
        push_access_levels: [expect.objectContaining({ access_level: 40 })],
      }),
    ]);
    const again = await api(`/projects/${project.id}/protected_branches?name=main`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ message: "Protected branch 'main' already exists" });

    await client.setVariable(project.id, { key: 'DEPLOY_KEY', value: 'c2VjcmV0LXZhbHVl', masked: true, protected: true });
    await client.setVariable(project.id, { key: 'REGION', value: 'eu west 1', masked: false, protected: false });
    // Existing key: the client falls back to PUT.
    await client.setVariable(project.id, { key: 'REGION', value: 'eu-central-1', masked: false, protected: false });
    const badMask = await rejectionOf(
      client.setVariable(project.id, { key: 'SHORT', value: 'short', masked: true, protected: false }),
    );
    expect(badMask.name).toBe('InputError');
    const variables = await (await api(`/projects/${project.id}/variables`)).json();
    expect(variables).toEqual([
      expect.objectContaining({ key: 'DEPLOY_KEY', masked: true, protected: true }),
      expect.objectContaining({ key: 'REGION', value: 'eu-central-1', masked: false }),
    ]);

    const token = await client.createProjectAccessToken(project.id, {
      name: 'ci',
      scopes: ['read_repository', 'write_repository'],
      accessLevel: 40,
      expiresAt: '2099-01-01',
    });
    expect(token).toEqual({ id: expect.any(Number), token: expect.stringMatching(/^glpat-/) });
    const tokens = await (await api(`/projects/${project.id}/access_tokens`)).json();
    expect(tokens).toEqual([
      expect.objectContaining({ id: token.id, name: 'ci', access_level: 40, expires_at: '2099-01-01', active: true }),
    ]);
    expect(tokens[0].token).toBeUndefined();
    const saved = fs
      .readdirSync(path.join(root, 'data'))
      .filter(f => f.startsWith('gitlab.db'))
      .map(f => fs.readFileSync(path.join(root, 'data', f)).toString('latin1'))
      .join('\n');
    expect(saved).toContain('"name":"ci"');
    expect(saved).not.toContain(token.token);

    const conflict = await rejectionOf(
      client.createProject({ groupPath: 'apps', name: 'x', description: '', topics: [] }),
    );
    expect(conflict.name).toBe('ConflictError');

    await client.deleteProject(project);
    await expect(client.findProject('apps/x')).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(root, 'data', 'git', 'apps', 'x.git'))).toBe(false);
    const recreated = await client.createProject({ groupPath: 'apps', name: 'x', description: 'Again', topics: [] });
    expect(recreated.id).not.toBe(project.id);
    const tree = await api(`/projects/${recreated.id}/repository/tree?ref=main&recursive=true`);
    expect(tree.status).toBe(404);
    expect(await tree.json()).toEqual({ message: '404 Tree Not Found' });
  });

  it('rejects what GitLab rejects', async () => {
    const unauthorized = await api('/projects/1', {}, null);
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toEqual({ message: '401 Unauthorized' });
    const bearer = await fetch(`${base}/api/v4/version`, { headers: { Authorization: 'Bearer t' } });
    expect(bearer.status).toBe(200);

    const missing = await api('/projects/apps%2Fnope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: '404 Project Not Found' });
    expect((await api('/groups/nope')).status).toBe(404);
    expect((await api('/nothing/here')).status).toBe(404);

    const project = await seedProject();
    const badMask = await api(`/projects/${project.id}/variables`, {
      method: 'POST',
      body: JSON.stringify({ key: 'K', value: 'has spaces in it', masked: true }),
    });
    expect(badMask.status).toBe(400);
    const multiLine = await api(`/projects/${project.id}/variables`, {
      method: 'POST',
      body: JSON.stringify({ key: 'K', value: 'abcdefgh\nabcdefgh', masked: true }),
    });
    expect(multiLine.status).toBe(400);
    await api(`/projects/${project.id}/variables`, {
      method: 'POST',
      body: JSON.stringify({ key: 'K', value: 'user@host:~/a.b-c_d+e/f=' , masked: true }),
    }).then(r => expect(r.status).toBe(201));
    const duplicate = await api(`/projects/${project.id}/variables`, {
      method: 'POST',
      body: JSON.stringify({ key: 'K', value: 'v' }),
    });
    expect(duplicate.status).toBe(400);
    expect(await duplicate.json()).toEqual({ message: { key: ['(K) has already been taken'] } });

    const badAction = await api(`/projects/${project.id}/repository/commits`, {
      method: 'POST',
      body: JSON.stringify({
        branch: 'main',
        commit_message: 'x',
        actions: [{ action: 'create', file_path: 'catalog-info.yaml', content: 'again' }],
      }),
    });
    expect(badAction.status).toBe(400);
    expect((await badAction.json()).message).toMatch(/A file with this name already exists/);
  });

  it('deletes in two steps, like GitLab 18', async () => {
    const project = await seedProject();
    const del = (query = '') => api(`/projects/${project.id}${query}`, { method: 'DELETE' });

    const notMarked = await del('?permanently_remove=true&full_path=apps%2Fx');
    expect(notMarked.status).toBe(400);
    expect((await notMarked.json()).message).toMatch(/must be marked for deletion first/);

    const mark = await del();
    expect(mark.status).toBe(202);
    expect(await mark.json()).toEqual({ message: '202 Accepted' });
    const marked = await (await api('/projects/apps%2Fx')).json();
    expect(marked.marked_for_deletion_on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const taken = await api('/projects', {
      method: 'POST',
      body: JSON.stringify({ namespace_id: marked.namespace.id, path: 'x', name: 'x' }),
    });
    expect(taken.status).toBe(400);
    expect(await taken.json()).toEqual({
      message: { path: ['has already been taken'], name: ['has already been taken'] },
    });
    expect((await del()).status).toBe(400); // already marked

    const wrongPath = await del('?permanently_remove=true&full_path=apps%2Fy');
    expect(wrongPath.status).toBe(400);
    expect((await del('?permanently_remove=true&full_path=apps%2Fx')).status).toBe(202);
    expect((await api(`/projects/${project.id}`)).status).toBe(404);
  });

  it('lets a retried deleteProject finish a half-done deletion', async () => {
    const client = newClient();
    const project = await seedProject(client);
    await fetch(`${base}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'gitlab', operation: 'DELETE /api/v4/projects/:id', failNth: 2, status: 503 }),
    });
    expect((await rejectionOf(client.deleteProject(project))).message).toMatch(/HTTP 503/);
    // Marked but still there; the retry sees "already marked" and removes it.
    await client.deleteProject(project);
    await expect(client.findProject('apps/x')).resolves.toBeUndefined();
  });

  it('clones and pushes over HTTP with the system git', async () => {
    const project = await seedProject();
    const clone = path.join(root, 'clone');
    await git(['clone', '--quiet', `${base}/apps/x.git`, clone]);
    expect(fs.readFileSync(path.join(clone, 'catalog-info.yaml'), 'utf8')).toBe('kind: Component\n');
    expect(fs.readFileSync(path.join(clone, 'src/index.js'), 'utf8')).toBe('console.log(1);\n');

    fs.writeFileSync(path.join(clone, 'pushed.txt'), 'from git push\n');
    // Incompressible and larger than http.postBuffer (1 MiB): git streams
    // the pack with chunked transfer encoding, without Content-Length.
    fs.writeFileSync(path.join(clone, 'big.bin'), crypto.randomBytes(2 * 1024 * 1024));
    await git(['add', 'pushed.txt', 'big.bin'], clone);
    await git(['commit', '--quiet', '-m', 'Pushed over HTTP'], clone);
    // Without credentials a push is challenged (and git cannot prompt).
    await expect(git(['push', '--quiet', 'origin', 'main'], clone)).rejects.toThrow();
    // A token GitLab does not know is refused too.
    const withUnknown = `${base.replace('://', '://gitlab-ci-token:glpat-abc@')}/apps/x.git`;
    await expect(git(['push', '--quiet', withUnknown, 'main'], clone)).rejects.toThrow();
    // The admin token (as in app-config.yaml) pushes to every project.
    const withToken = `${base.replace('://', '://gitlab-ci-token:sandbox-token@')}/apps/x.git`;
    await git(['push', '--quiet', withToken, 'main'], clone);

    const pushed = await api(`/projects/${project.id}/repository/files/pushed.txt/raw?ref=main`);
    expect(await pushed.text()).toBe('from git push\n');
    const big = await api(`/projects/${project.id}/repository/files/big.bin/raw?ref=main`);
    expect(Buffer.from(await big.arrayBuffer()).equals(fs.readFileSync(path.join(clone, 'big.bin')))).toBe(true);
    const branch = await (await api(`/projects/${project.id}/repository/branches/main`)).json();
    expect(branch).toMatchObject({ name: 'main', default: true, commit: { title: 'Pushed over HTTP' } });

    // The API's next commit builds on the pushed one; a fetch sees it.
    await newClient().commitFiles(project.id, {
      branch: 'main',
      message: 'After push',
      files: [{ path: 'pushed.txt', content: 'updated\n' }],
    });
    await git(['pull', '--quiet', '--ff-only', 'origin', 'main'], clone);
    expect(fs.readFileSync(path.join(clone, 'pushed.txt'), 'utf8')).toBe('updated\n');

    const missing = await rejectionOf(git(['clone', '--quiet', `${base}/apps/nope.git`, path.join(root, 'nope')]));
    expect(missing.message).toMatch(/not found|404/i);
  }, 30_000);

  it('inflates gzip-compressed git requests', async () => {
    await seedProject();
    const refs = await fetch(`${base}/apps/x.git/info/refs?service=git-upload-pack`);
    expect(refs.status).toBe(200);
    expect(refs.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
    const advertisement = await refs.text();
    const head = /([0-9a-f]{40}) refs\/heads\/main/.exec(advertisement)![1];

    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const request = `${pkt(`want ${head}\n`)}0000${pkt('done\n')}`;
    const response = await fetch(`${base}/apps/x.git/git-upload-pack`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
      },
      body: zlib.gzipSync(Buffer.from(request)),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.subarray(0, 8).toString()).toBe('0008NAK\n');
    expect(body.subarray(8, 12).toString()).toBe('PACK');
  });

  it("serves files the way Backstage's GitLab UrlReader reads them", async () => {
    await seedProject();
    const raw = await fetch(`${base}/api/v4/projects/apps%2Fx/repository/files/catalog-info.yaml/raw?ref=main`, {
      headers: { Authorization: 'Bearer t' },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await raw.text()).toBe('kind: Component\n');
    const etag = raw.headers.get('etag')!;
    const notModified = await fetch(raw.url, { headers: { Authorization: 'Bearer t', 'If-None-Match': etag } });
    expect(notModified.status).toBe(304);

    const json = await (await api('/projects/apps%2Fx/repository/files/src%2Findex.js?ref=main')).json();
    expect(json).toMatchObject({ file_path: 'src/index.js', encoding: 'base64', ref: 'main' });
    expect(Buffer.from(json.content, 'base64').toString()).toBe('console.log(1);\n');

    expect((await api('/projects/apps%2Fx/repository/files/nope.yaml/raw?ref=main')).status).toBe(404);
    expect((await api('/projects/apps%2Fx/repository/files/catalog-info.yaml/raw?ref=nope')).status).toBe(404);
    expect((await api('/projects/apps%2Fx/repository/branches/nope')).status).toBe(404);

    // readTree: project → latest commit → archive.
    const commits = await (await api('/projects/apps%2Fx/repository/commits?ref_name=main')).json();
    const archive = await api('/projects/apps%2Fx/repository/archive?sha=main');
    expect(archive.status).toBe(200);
    const tar = zlib.gunzipSync(Buffer.from(await archive.arrayBuffer())).toString('latin1');
    expect(tar).toContain(`x-main-${commits[0].id}/src/index.js`);
    expect(tar).toContain('kind: Component');
  });

  it('pages through the tree with the headers gitbeaker follows', async () => {
    const project = await seedProject();
    const page1 = await api(`/projects/${project.id}/repository/tree?recursive=true&ref=main&per_page=2`);
    expect(page1.headers.get('x-total')).toBe('3'); // catalog-info.yaml, src, src/index.js
    expect(page1.headers.get('x-next-page')).toBe('2');
    expect(page1.headers.get('link')).toContain('rel="next"');
    const top = await (await api(`/projects/${project.id}/repository/tree?ref=main`)).json();
    expect(top.map((e: { path: string; type: string }) => `${e.type} ${e.path}`)).toEqual([
      'blob catalog-info.yaml',
      'tree src',
    ]);
    const gitlab = new Gitlab({ host: base, token: 't' });
    const all = await gitlab.Repositories.allRepositoryTrees(project.id, { ref: 'main', recursive: true, perPage: 1 });
    expect(all.map(e => e.path)).toEqual(['catalog-info.yaml', 'src', 'src/index.js']);
  });

  it('has the seeded groups and creates more', async () => {
    const gitops = await (await api('/groups/platform%2Fgitops')).json();
    expect(gitops).toMatchObject({ full_path: 'platform/gitops', path: 'gitops' });
    const platform = await (await api('/groups/platform')).json();
    expect(gitops.parent_id).toBe(platform.id);
    expect((await api(`/groups/${platform.id}`)).status).toBe(200);

    const created = await api('/groups', { method: 'POST', body: JSON.stringify({ name: 'Data', path: 'data' }) });
    expect(created.status).toBe(201);
    const again = await api('/groups', { method: 'POST', body: JSON.stringify({ name: 'Data', path: 'data' }) });
    expect(again.status).toBe(400);
    const client = newClient();
    await expect(
      client.createProject({ groupPath: 'data', name: 'pipeline', description: '', topics: [] }),
    ).resolves.toMatchObject({ pathWithNamespace: 'data/pipeline' });
    expect((await rejectionOf(client.createProject({ groupPath: 'nope', name: 'y', description: '', topics: [] }))).name).toBe(
      'NotFoundError',
    );
  });

  it('keeps projects, files and repositories across a restart', async () => {
    const project = await seedProject();
    await newClient().setVariable(project.id, { key: 'A', value: 'b', masked: false, protected: false });
    const dataDir = path.join(root, 'data');
    await sandbox.close();
    sandbox = await start(dataDir);
    base = sandbox.urls.gitlab;

    const client = newClient();
    const found = await client.findProject('apps/x');
    expect(found).toMatchObject({ id: project.id, httpUrlToRepo: `${base}/apps/x.git` });
    const raw = await api('/projects/apps%2Fx/repository/files/catalog-info.yaml/raw?ref=main');
    expect(await raw.text()).toBe('kind: Component\n');
    expect(await (await api(`/projects/${project.id}/variables/A`)).json()).toMatchObject({ value: 'b' });
    const clone = path.join(root, 'clone');
    await git(['clone', '--quiet', `${base}/apps/x.git`, clone]);
    expect(fs.readFileSync(path.join(clone, 'src/index.js'), 'utf8')).toBe('console.log(1);\n');
    // Ids keep counting from where they were.
    const next = await client.createProject({ groupPath: 'apps', name: 'y', description: '', topics: [] });
    expect(next.id).toBeGreaterThan(project.id);
  });

  it('injects failures and latency by operation name', async () => {
    const addRule = (rule: object) =>
      fetch(`${base}/__admin/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rule),
      });
    await addRule({ service: 'gitlab', operation: 'POST /api/v4/projects', failNth: 1, status: 503 });
    const body = JSON.stringify({ namespace_id: 1, path: 'x', name: 'x' });
    const first = await api('/projects', { method: 'POST', body });
    expect(first.status).toBe(503);
    const second = await api('/projects', { method: 'POST', body });
    expect(second.status).toBe(201);

    await addRule({ service: 'gitlab', operation: 'GET /api/v4/projects/:id', delayMs: 150 });
    const started = Date.now();
    expect((await api('/projects/apps%2Fx')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);

    await addRule({ service: 'gitlab', operation: 'git-upload-pack', status: 500 });
    await expect(git(['clone', '--quiet', `${base}/apps/x.git`, path.join(root, 'clone')])).rejects.toThrow();
  });

  it('names every operation it serves with a documented name', async () => {
    const project = await seedProject();
    await api(`/projects/${project.id}/repository/files/catalog-info.yaml/raw?ref=main`);
    await api(`/projects/apps%2Fx/repository/branches/main`);
    await api(`/projects/${project.id}/variables/NOPE`, { method: 'PUT', body: '{}' });
    await api('/not/an/endpoint');
    await fetch(`${base}/apps/x`);
    await git(['clone', '--quiet', `${base}/apps/x.git`, path.join(root, 'clone')]);
    const log = (await (await fetch(`${base}/__admin/log`)).json()).operations as string[];
    const names = log.filter(l => l.startsWith('gitlab ')).map(l => l.slice('gitlab '.length));
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /api/v4/groups/:id',
        'POST /api/v4/projects',
        'GET /api/v4/projects/:id/repository/tree',
        'POST /api/v4/projects/:id/repository/commits',
        'GET /api/v4/projects/:id/repository/files/:file_path/raw',
        'GET /api/v4/projects/:id/repository/branches/:branch',
        'PUT /api/v4/projects/:id/variables/:key',
        'unknown',
        'GET web',
        'git-upload-pack:advertise',
        'git-upload-pack',
      ]),
    );
    for (const name of names) expect(GITLAB_OPERATIONS).toContain(name);
  });
});
