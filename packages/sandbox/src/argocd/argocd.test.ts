import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { ArgoCdClient } from '@internal/plugin-golden-path-node';
import {
  PlatformSettings,
  renderApplication,
  renderAppProject,
  renderContext,
} from '@internal/plugin-scaffolder-backend-module-golden-path';
import { exampleRequest, exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { GitRepos } from '../git';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import {
  ARGOCD_OPERATIONS,
  argocdFake,
  argocdOperationOf,
  createArgocdFake,
  findArgocdSwagger,
  repoFullPath,
} from './index';

const stub: SandboxFakeFactory = () => ({ router: express.Router(), operationOf: () => 'x' });
const TOKEN = 'sandbox-argocd-token';
const GITOPS_PATH = 'platform/gitops/payments-api-gitops';

describe('argocdFake', () => {
  let dataDir: string;
  let sandbox: RunningSandbox | undefined;
  let settings: PlatformSettings;
  let client: ArgoCdClient;
  let repos: GitRepos;

  const start = async () => {
    sandbox = await startSandbox({
      dataDir,
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
      fakes: { gitlab: stub, argocd: argocdFake, aws: stub, kubernetes: stub },
    });
    settings = {
      ...exampleSettings,
      // The GitOps repoURL is then http(s)://<sandbox gitlab host>/platform/gitops/<name>-gitops.git.
      gitlabHost: new URL(sandbox.urls.gitlab).host,
      argocdUrl: sandbox.urls.argocd,
    };
    client = new ArgoCdClient({
      baseUrl: sandbox.urls.argocd,
      token: TOKEN,
      retry: { maxAttempts: 1 },
      requestTimeoutMs: 10_000,
    });
    return sandbox;
  };
  const stop = async () => {
    await sandbox?.close();
    sandbox = undefined;
  };

  /** A raw call, for what the client does not expose. */
  const call = async (method: string, p: string, body?: unknown, token: string | null = TOKEN) => {
    const res = await fetch(`${sandbox!.urls.argocd}${p}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  const project = () => renderAppProject(renderContext(settings, exampleRequest));
  const application = () => renderApplication(renderContext(settings, exampleRequest));

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-argocd-'));
    repos = new GitRepos(path.join(dataDir, 'git'));
    await start();
  });

  afterEach(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds the swagger contract next to the repository', () => {
    expect(findArgocdSwagger()).toMatch(/shared[\\/]conformance[\\/]argocd[\\/]swagger\.json$/);
  });

  it('hands out session tokens and refuses requests without one', async () => {
    const session = await call('POST', '/api/v1/session', { username: 'admin', password: 'secret' }, null);
    expect(session.status).toBe(200);
    expect(session.body.token).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));

    const anonymous = await call('GET', '/api/v1/projects', undefined, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ error: 'no session information', code: 16, message: 'no session information' });

    const listed = await call('GET', '/api/v1/projects', undefined, session.body.token);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((p: any) => p.metadata.name)).toEqual(['default']);
  });

  it('creates a project, finds an identical one unchanged and a different one in conflict', async () => {
    expect(await client.ensureProject(project())).toBe('created');
    expect(await client.ensureProject(project())).toBe('unchanged');

    const stored = await client.getProject(project().metadata.name);
    expect(stored).toMatchObject({
      metadata: { name: 'payments-api', namespace: 'argocd', finalizers: ['resources-finalizer.argocd.argoproj.io'] },
      spec: project().spec,
    });
    expect(stored!.metadata.uid).toBeTruthy();

    const different = project();
    different.spec.sourceRepos = ['https://elsewhere.example.com/x.git'];
    await expect(client.ensureProject(different)).rejects.toMatchObject({ name: 'ConflictError' });

    // ArgoCD's own answer to a create with a different spec and no upsert.
    const conflict = await call('POST', '/api/v1/projects', { project: different, upsert: false });
    expect(conflict.status).toBe(400);
    expect(conflict.body).toEqual({
      error: 'existing project spec is different, use upsert flag to force update',
      code: 3,
      message: 'existing project spec is different, use upsert flag to force update',
    });
    const identical = await call('POST', '/api/v1/projects', { project: project(), upsert: false });
    expect(identical.status).toBe(200);
    expect(identical.body.metadata.resourceVersion).toBe(stored!.metadata.resourceVersion);

    expect(await client.ensureProject(different, { update: true })).toBe('updated');
    expect((await client.getProject('payments-api'))!.spec.sourceRepos).toEqual(['https://elsewhere.example.com/x.git']);

    // A stale resourceVersion is refused, as Kubernetes does.
    const stale = await call('PUT', '/api/v1/projects/payments-api', {
      project: { ...project(), metadata: { ...project().metadata, resourceVersion: '1' } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe(10);
  });

  it('reports an application Unknown, then OutOfSync, then Synced as the GitOps repository fills', async () => {
    await client.ensureProject(project());
    expect(await client.ensureApplication(application())).toBe('created');
    expect(await client.ensureApplication(application())).toBe('unchanged');

    // No repository yet (GitLab has not caught up).
    let app = await client.getApplication('payments-api');
    expect(app!.status.sync.status).toBe('Unknown');
    expect(app!.status.conditions).toEqual([
      expect.objectContaining({ type: 'ComparisonError', message: expect.stringContaining('repository not found') }),
    ]);

    // An empty repository, then one without manifests/.
    await repos.create(GITOPS_PATH);
    app = await client.getApplication('payments-api');
    expect(app!.status).toMatchObject({ sync: { status: 'OutOfSync' }, health: { status: 'Missing' } });
    await repos.commit(GITOPS_PATH, {
      branch: 'main',
      message: 'readme',
      actions: [{ action: 'create', file_path: 'README.md', content: '# gitops\n' }],
    });
    app = await client.getApplication('payments-api');
    expect(app!.status).toMatchObject({ sync: { status: 'OutOfSync' }, health: { status: 'Missing' } });

    const { sha } = await repos.commit(GITOPS_PATH, {
      branch: 'main',
      message: 'manifests',
      actions: [{ action: 'create', file_path: 'manifests/namespace.yaml', content: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments-api\n' }],
    });
    app = await client.getApplication('payments-api');
    expect(app!.status).toMatchObject({
      sync: { status: 'Synced', revision: sha },
      health: { status: 'Healthy' },
      operationState: { phase: 'Succeeded', syncResult: { revision: sha } },
    });
    expect(Date.parse(app!.status.operationState.finishedAt)).not.toBeNaN();
    expect(Date.parse(app!.status.reconciledAt)).not.toBeNaN();
    expect(app!.spec).toEqual(application().spec);

    const list = await call('GET', '/api/v1/applications?projects=payments-api');
    expect(list.body.items.map((a: any) => [a.metadata.name, a.status.sync.status])).toEqual([['payments-api', 'Synced']]);
  });

  it('refuses applications outside what their project permits', async () => {
    await client.ensureProject(project());

    const otherRepo = application();
    otherRepo.spec.source.repoURL = 'https://gitlab.example.com/someone/else.git';
    await expect(client.ensureApplication(otherRepo)).rejects.toMatchObject({ name: 'InputError' });
    await expect(client.ensureApplication(otherRepo)).rejects.toThrow(
      "application repo https://gitlab.example.com/someone/else.git is not permitted in project 'payments-api'",
    );

    const otherNamespace = application();
    otherNamespace.spec.destination.namespace = 'kube-system';
    await expect(client.ensureApplication(otherNamespace)).rejects.toThrow(
      /do not match any of the allowed destinations in project 'payments-api'/,
    );

    const noProject = application();
    noProject.spec.project = 'missing';
    const answer = await call('POST', '/api/v1/applications', noProject);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe('application references project missing which does not exist');

    expect(await client.getApplication('payments-api')).toBeUndefined();
  });

  it('validates request bodies against swagger.json', async () => {
    await client.ensureProject(project());
    const invalid = { ...application(), spec: { ...application().spec, source: 'https://gitlab.example.com/x.git' } };
    const answer = await call('POST', '/api/v1/applications', invalid);
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe(3);
    expect(answer.body.message).toContain('#/definitions/v1alpha1Application');
    expect(answer.body.validationErrors).toEqual(
      expect.arrayContaining([expect.objectContaining({ instancePath: '/spec/source', keyword: 'type' })]),
    );
    // Through the client, the same answer is an InputError.
    await expect(client.ensureApplication(invalid)).rejects.toMatchObject({ name: 'InputError' });

    const badProject = await call('POST', '/api/v1/projects', { project: project(), upsert: 'yes' });
    expect(badProject.status).toBe(400);
    expect(badProject.body.validationErrors).toEqual([expect.objectContaining({ instancePath: '/upsert' })]);

    const notJson = await fetch(`${sandbox!.urls.argocd}/api/v1/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: '{"project":',
    });
    expect(notJson.status).toBe(400);
  });

  it('deletes the application (cascade), then the project, and answers 404 afterwards', async () => {
    await client.ensureProject(project());
    await client.ensureApplication(application());

    await expect(client.deleteProject('payments-api')).rejects.toThrow('project is referenced by 1 applications');

    const deleted = await call('DELETE', '/api/v1/applications/payments-api?cascade=true');
    expect(deleted).toEqual({ status: 200, body: {} });
    const again = await call('DELETE', '/api/v1/applications/payments-api?cascade=true');
    expect(again.status).toBe(404);
    expect(again.body).toEqual({
      error: 'applications.argoproj.io "payments-api" not found',
      code: 5,
      message: 'applications.argoproj.io "payments-api" not found',
    });
    await expect(client.deleteApplication('payments-api')).resolves.toBeUndefined();

    await client.deleteProject('payments-api');
    expect(await client.getProject('payments-api')).toBeUndefined();
    const projectAgain = await call('DELETE', '/api/v1/projects/payments-api');
    expect(projectAgain.status).toBe(404);
    expect(projectAgain.body.error).toBe('appprojects.argoproj.io "payments-api" not found');

    const reserved = await call('DELETE', '/api/v1/projects/default');
    expect(reserved.status).toBe(400);
  });

  it('keeps projects, applications and sync times across a restart', async () => {
    await client.ensureProject(project());
    await client.ensureApplication(application());
    await repos.create(GITOPS_PATH);
    const { sha } = await repos.commit(GITOPS_PATH, {
      branch: 'main',
      message: 'manifests',
      actions: [{ action: 'create', file_path: 'manifests/a.yaml', content: 'a: 1\n' }],
    });
    const before = await client.getApplication('payments-api');
    expect(before!.status.sync).toMatchObject({ status: 'Synced', revision: sha });

    await stop();
    const { gitlabHost } = settings;
    await start();
    // The stored repoURLs name the first run's GitLab port; render as then.
    settings = { ...settings, gitlabHost };

    expect(await client.ensureProject(project())).toBe('unchanged');
    const after = await client.getApplication('payments-api');
    expect(after!.metadata).toEqual(before!.metadata);
    expect(after!.status.operationState.finishedAt).toBe(before!.status.operationState.finishedAt);
    expect(after!.status.sync).toMatchObject({ status: 'Synced', revision: sha });
  });

  it('names operations for fault rules', async () => {
    for (const [method, p, op] of [
      ['POST', '/api/v1/applications', 'POST /api/v1/applications'],
      ['GET', '/api/v1/applications/x', 'GET /api/v1/applications/:name'],
      ['DELETE', '/api/v1/projects/x', 'DELETE /api/v1/projects/:name'],
      ['PUT', '/api/v1/projects/x/', 'PUT /api/v1/projects/:name'],
      ['PATCH', '/api/v1/applications/x', 'PATCH /api/v1/applications/x'],
    ]) {
      expect(argocdOperationOf({ method, path: p })).toBe(op);
    }

    sandbox!.faults.add({ service: 'argocd', operation: 'POST /api/v1/applications', failNth: 1, status: 503 });
    await client.ensureProject(project());
    await expect(client.ensureApplication(application())).rejects.toThrow('HTTP 503');
    expect(await client.ensureApplication(application())).toBe('created');
    const served = sandbox!.faults.log.filter(l => l.startsWith('argocd ')).map(l => l.slice('argocd '.length));
    expect(served).toContain('POST /api/v1/applications');
    for (const op of served) expect(ARGOCD_OPERATIONS).toContain(op);
  });

  it('starts without the swagger file, with request validation off', async () => {
    await stop();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      sandbox = await startSandbox({
        dataDir,
        ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
        fakes: { gitlab: stub, argocd: createArgocdFake({ swaggerFile: null }), aws: stub, kubernetes: stub },
      });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('request validation is off'));
    } finally {
      warn.mockRestore();
    }
    // Not a string per swagger, but without it only the fake's own checks apply.
    const answer = await call('POST', '/api/v1/projects', { project: project(), upsert: 'yes' });
    expect(answer.status).toBe(200);
    expect(answer.body.metadata.name).toBe('payments-api');
  });

  it('maps repository URLs onto GitLab project paths', () => {
    expect(repoFullPath('https://gitlab.example.com/platform/gitops/x-gitops.git')).toBe('platform/gitops/x-gitops');
    expect(repoFullPath('http://127.0.0.1:7080/a/b/')).toBe('a/b');
    expect(repoFullPath('git@gitlab.example.com:a/b.git')).toBe('a/b');
    expect(repoFullPath('not a url')).toBeUndefined();
  });
});
