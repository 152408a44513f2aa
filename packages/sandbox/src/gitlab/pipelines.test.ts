import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { Gitlab } from '@gitbeaker/rest';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import { GITLAB_OPERATIONS, gitlabFake } from './index';
import { DEFAULT_STAGES, stagesOf } from './pipelines';

const stub: SandboxFakeFactory = () => ({
  router: express.Router(),
  operationOf: () => 'x',
});

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

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-pipelines-'));
  sandbox = await start(path.join(root, 'data'));
  base = sandbox.urls.gitlab;
});

afterEach(async () => {
  await sandbox.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function api(apiPath: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set('PRIVATE-TOKEN', 't');
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  return fetch(`${base}/api/v4${apiPath}`, { ...init, headers });
}

async function json(apiPath: string): Promise<any> {
  const res = await api(apiPath);
  expect(res.status).toBe(200);
  return res.json();
}

async function createProject(name = 'x'): Promise<{ id: number; web_url: string }> {
  const res = await api('/projects', {
    method: 'POST',
    body: JSON.stringify({ name, namespace_id: 'apps' }),
  });
  expect(res.status).toBe(201);
  return res.json();
}

async function commit(
  projectId: number,
  files: Record<string, string>,
  opts: { branch?: string; startBranch?: string; action?: 'create' | 'update' } = {},
): Promise<string> {
  const res = await api(`/projects/${projectId}/repository/commits`, {
    method: 'POST',
    body: JSON.stringify({
      branch: opts.branch ?? 'main',
      start_branch: opts.startBranch,
      commit_message: 'Change',
      actions: Object.entries(files).map(([filePath, content]) => ({
        action: opts.action ?? 'create',
        file_path: filePath,
        content,
      })),
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()).id;
}

const CI = `# comment
stages:
  - lint
  - test
  - security
  - build
  - push
  - update-gitops

lint:
  stage: lint
  script: [npm run lint]
`;

describe('stagesOf', () => {
  it('lists the stages in order, without duplicates or implicit stages', () => {
    expect(stagesOf(CI)).toEqual({
      stages: ['lint', 'test', 'security', 'build', 'push', 'update-gitops'],
    });
    expect(stagesOf('stages: [a, b, a, .pre, c]\n')).toEqual({ stages: ['a', 'b', 'c'] });
  });

  it("uses GitLab's default stages when none are listed", () => {
    expect(stagesOf('job:\n  script: [echo]\n')).toEqual({ stages: [...DEFAULT_STAGES] });
    expect(stagesOf('')).toEqual({ stages: [...DEFAULT_STAGES] });
  });

  it('rejects what GitLab would reject', () => {
    expect(stagesOf('stages: [a\n')).toEqual({ error: expect.stringMatching(/^Invalid configuration format/) });
    expect(stagesOf('- a\n- b\n')).toEqual({ error: 'Invalid configuration format' });
    expect(stagesOf('stages: lint\n')).toEqual({ error: 'stages config should be an array of strings' });
    expect(stagesOf('stages: [a, {b: 1}]\n')).toEqual({ error: 'stages config should be an array of strings' });
  });
});

describe('GitLab fake pipelines', () => {
  it('records a pipeline with one job per stage for a commit to the default branch', async () => {
    const project = await createProject();
    const sha = await commit(project.id, { '.gitlab-ci.yml': CI, 'README.md': '# x\n' });

    const list = await json(`/projects/${project.id}/pipelines`);
    expect(list).toEqual([
      {
        id: expect.any(Number),
        iid: 1,
        project_id: project.id,
        sha,
        ref: 'main',
        status: 'success',
        source: 'push',
        created_at: expect.any(String),
        updated_at: expect.any(String),
        web_url: `${project.web_url}/-/pipelines/${list[0].id}`,
        name: null,
      },
    ]);
    expect(Date.parse(list[0].created_at)).not.toBeNaN();

    const pipeline = await json(`/projects/apps%2Fx/pipelines/${list[0].id}`);
    expect(pipeline).toMatchObject({
      ...list[0],
      before_sha: '0'.repeat(40),
      tag: false,
      yaml_errors: null,
      started_at: expect.any(String),
      finished_at: expect.any(String),
      detailed_status: { group: 'success', text: 'Passed' },
    });

    const jobs = await json(`/projects/${project.id}/pipelines/${list[0].id}/jobs`);
    // GitLab lists a pipeline's jobs newest (highest id) first.
    const inStageOrder = [...jobs].sort((a, b) => a.id - b.id);
    expect(jobs.map((j: any) => j.id)).toEqual(inStageOrder.map(j => j.id).reverse());
    expect(inStageOrder.map(j => [j.name, j.stage, j.status])).toEqual([
      ['lint', 'lint', 'success'],
      ['test', 'test', 'success'],
      ['security', 'security', 'success'],
      ['build', 'build', 'success'],
      ['push', 'push', 'success'],
      ['update-gitops', 'update-gitops', 'success'],
    ]);
    expect(jobs[0]).toMatchObject({
      ref: 'main',
      allow_failure: false,
      commit: { id: sha },
      pipeline: { id: list[0].id, project_id: project.id, sha, ref: 'main', status: 'success' },
      web_url: `${project.web_url}/-/jobs/${jobs[0].id}`,
    });
  });

  it('records none without .gitlab-ci.yml or for other branches', async () => {
    const project = await createProject();
    await commit(project.id, { 'README.md': '# x\n' });
    expect(await json(`/projects/${project.id}/pipelines`)).toEqual([]);

    // A branch other than the default one, even with CI configuration.
    await commit(project.id, { '.gitlab-ci.yml': CI }, { branch: 'feature', startBranch: 'main' });
    expect(await json(`/projects/${project.id}/pipelines`)).toEqual([]);

    // Once the default branch has the file, every later commit to it runs.
    await commit(project.id, { '.gitlab-ci.yml': CI });
    await commit(project.id, { 'src/a.js': '1;\n' });
    expect(await json(`/projects/${project.id}/pipelines`)).toHaveLength(2);
  });

  it('lists pipelines newest first, with per_page, page and ref filters', async () => {
    const project = await createProject();
    const first = await commit(project.id, { '.gitlab-ci.yml': CI });
    const second = await commit(project.id, { 'a.txt': 'a\n' });
    const third = await commit(project.id, { 'b.txt': 'b\n' });

    const all = await json(`/projects/${project.id}/pipelines`);
    expect(all.map((p: any) => [p.iid, p.sha])).toEqual([
      [3, third],
      [2, second],
      [1, first],
    ]);
    expect(all[0].id).toBeGreaterThan(all[1].id);

    const res = await api(`/projects/${project.id}/pipelines?per_page=1`);
    expect(res.headers.get('x-total')).toBe('3');
    expect(res.headers.get('x-next-page')).toBe('2');
    expect((await res.json()).map((p: any) => p.sha)).toEqual([third]);
    expect((await json(`/projects/${project.id}/pipelines?per_page=1&page=3`)).map((p: any) => p.sha)).toEqual([
      first,
    ]);
    expect((await json(`/projects/${project.id}/pipelines?sort=asc&per_page=1`))[0].sha).toBe(first);

    expect(await json(`/projects/${project.id}/pipelines?ref=main`)).toHaveLength(3);
    expect(await json(`/projects/${project.id}/pipelines?ref=other`)).toEqual([]);
    expect(await json(`/projects/${project.id}/pipelines?sha=${second}`)).toHaveLength(1);
    expect(await json(`/projects/${project.id}/pipelines?status=failed`)).toEqual([]);
  });

  it('records a failed pipeline for a .gitlab-ci.yml GitLab would reject', async () => {
    const project = await createProject();
    await commit(project.id, { '.gitlab-ci.yml': 'stages: lint\n' });
    const [pipeline] = await json(`/projects/${project.id}/pipelines`);
    expect(pipeline.status).toBe('failed');
    expect((await json(`/projects/${project.id}/pipelines/${pipeline.id}`)).yaml_errors).toBe(
      'stages config should be an array of strings',
    );
    expect(await json(`/projects/${project.id}/pipelines/${pipeline.id}/jobs`)).toEqual([]);
  });

  it('answers 404 for unknown projects and pipelines', async () => {
    const project = await createProject();
    await commit(project.id, { '.gitlab-ci.yml': CI });
    expect((await api('/projects/apps%2Fnope/pipelines')).status).toBe(404);
    expect((await api(`/projects/${project.id}/pipelines/999999`)).status).toBe(404);
    expect((await api(`/projects/${project.id}/pipelines/abc/jobs`)).status).toBe(404);
    expect((await fetch(`${base}/api/v4/projects/${project.id}/pipelines`)).status).toBe(401);
  });

  it('keeps pipelines across a restart, with ids that keep growing', async () => {
    const project = await createProject();
    await commit(project.id, { '.gitlab-ci.yml': CI });
    const [before] = await json(`/projects/${project.id}/pipelines`);

    await sandbox.close();
    sandbox = await start(path.join(root, 'data'));
    base = sandbox.urls.gitlab;

    expect(await json(`/projects/${project.id}/pipelines`)).toEqual([
      { ...before, web_url: `${base}/apps/x/-/pipelines/${before.id}` },
    ]);
    await commit(project.id, { 'a.txt': 'a\n' });
    const [after] = await json(`/projects/${project.id}/pipelines`);
    expect(after.id).toBeGreaterThan(before.id);
    expect(after.iid).toBe(2);
    const jobIds = (await json(`/projects/${project.id}/pipelines/${before.id}/jobs`)).map((j: any) => j.id);
    const newJobIds = (await json(`/projects/${project.id}/pipelines/${after.id}/jobs`)).map((j: any) => j.id);
    expect(Math.min(...newJobIds)).toBeGreaterThan(Math.max(...jobIds));
  });

  it('numbers pipelines per project and ids across projects', async () => {
    const a = await createProject('a');
    const b = await createProject('b');
    await commit(a.id, { '.gitlab-ci.yml': CI });
    await commit(b.id, { '.gitlab-ci.yml': CI });
    const [pa] = await json(`/projects/${a.id}/pipelines`);
    const [pb] = await json(`/projects/${b.id}/pipelines`);
    expect([pa.iid, pb.iid]).toEqual([1, 1]);
    expect(pb.id).not.toBe(pa.id);
  });

  it('serves gitbeaker', async () => {
    const project = await createProject();
    const sha = await commit(project.id, { '.gitlab-ci.yml': CI });
    const gitlab = new Gitlab({ host: base, token: 't' });
    const pipelines = await gitlab.Pipelines.all('apps/x', { perPage: 1, maxPages: 1 });
    expect(pipelines).toEqual([expect.objectContaining({ sha, status: 'success' })]);
    const shown = await gitlab.Pipelines.show('apps/x', pipelines[0].id);
    expect(shown.web_url).toBe(`${project.web_url}/-/pipelines/${pipelines[0].id}`);
    const jobs = await gitlab.Jobs.all('apps/x', { pipelineId: pipelines[0].id });
    expect(jobs).toHaveLength(6);
  });

  it('shows pipelines at their web_url', async () => {
    const project = await createProject();
    await commit(project.id, { '.gitlab-ci.yml': CI });
    const [pipeline] = await json(`/projects/${project.id}/pipelines`);
    const page = await fetch(pipeline.web_url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('success');
    expect(html).toContain('update-gitops');
    expect(await (await fetch(`${project.web_url}/-/pipelines`)).text()).toContain(`#${pipeline.id}`);
  });

  it('names the pipeline operations', async () => {
    const project = await createProject();
    await commit(project.id, { '.gitlab-ci.yml': CI });
    const [pipeline] = await json(`/projects/${project.id}/pipelines`);
    await json(`/projects/${project.id}/pipelines/${pipeline.id}`);
    await json(`/projects/${project.id}/pipelines/${pipeline.id}/jobs`);
    const log = (await (await fetch(`${base}/__admin/log`)).json()).operations as string[];
    const names = log.filter(l => l.startsWith('gitlab ')).map(l => l.slice('gitlab '.length));
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /api/v4/projects/:id/pipelines',
        'GET /api/v4/projects/:id/pipelines/:pipeline_id',
        'GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs',
      ]),
    );
    for (const name of names) expect(GITLAB_OPERATIONS).toContain(name);
  });
});
