import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { RunningSandbox, startDefaultSandbox } from '@internal/sandbox';
import {
  GitLabPipelinesClient,
  isProjectPath,
  stagesOf,
  stageStatus,
} from './GitLabPipelinesClient';

const job = (status: string, allowFailure = false) => ({
  status,
  allow_failure: allowFailure,
});

describe('stageStatus', () => {
  it.each([
    [[job('success'), job('success')], 'success'],
    [[job('success'), job('skipped')], 'success'],
    [[job('success'), job('failed', true)], 'success'],
    [[job('success'), job('failed')], 'failed'],
    [[job('success'), job('running')], 'running'],
    [[job('success'), job('pending')], 'running'],
    [[job('pending'), job('created')], 'pending'],
    [[job('created')], 'created'],
    [[job('skipped')], 'skipped'],
    [[], 'skipped'],
    [[job('canceled'), job('success')], 'canceled'],
    [[job('manual'), job('success')], 'manual'],
    [[job('failed'), job('canceled')], 'failed'],
  ])('%j is %s', (jobs, expected) => {
    expect(stageStatus(jobs)).toBe(expected);
  });
});

describe('stagesOf', () => {
  it('orders stages by their first job and keeps each once', () => {
    expect(
      stagesOf([
        { id: 5, stage: 'deploy', ...job('pending') },
        { id: 3, stage: 'test', ...job('success') },
        { id: 4, stage: 'test', ...job('failed') },
        { id: 1, stage: 'build', ...job('success') },
      ]),
    ).toEqual([
      { name: 'build', status: 'success' },
      { name: 'test', status: 'failed' },
      { name: 'deploy', status: 'pending' },
    ]);
  });
});

describe('isProjectPath', () => {
  it.each(['apps/x', 'a/b/c', 'apps/my_app.v2', 'g-1/p-2'])('accepts %s', p =>
    expect(isProjectPath(p)).toBe(true),
  );
  it.each(['x', '', '/apps/x', 'apps/', 'apps/../x', 'apps/.x', 'apps/x y', 3])(
    'rejects %p',
    p => expect(isProjectPath(p)).toBe(false),
  );
});

describe('GitLabPipelinesClient', () => {
  it('reads its settings like the scaffolder GitLab client', () => {
    expect(() =>
      GitLabPipelinesClient.fromConfig(
        new ConfigReader({ goldenPath: { gitlab: { host: 'gitlab.test' } } }),
      ),
    ).toThrow(/No GitLab token for goldenPath.gitlab.host 'gitlab.test'/);
    expect(
      GitLabPipelinesClient.fromConfig(
        new ConfigReader({
          goldenPath: { gitlab: { host: 'gitlab.test' } },
          integrations: {
            gitlab: [
              {
                host: 'gitlab.test',
                apiBaseUrl: 'https://gitlab.test/api/v4',
                token: 't',
              },
            ],
          },
        }),
      ),
    ).toBeInstanceOf(GitLabPipelinesClient);
  });

  describe('against the sandbox GitLab', () => {
    let root: string;
    let sandbox: RunningSandbox;

    beforeEach(async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-path-backend-'));
      sandbox = await startDefaultSandbox({
        dataDir: root,
        ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
      });
    });

    afterEach(async () => {
      await sandbox.close();
      fs.rmSync(root, { recursive: true, force: true });
    });

    async function api(apiPath: string, body?: object) {
      const res = await fetch(`${sandbox.urls.gitlab}/api/v4${apiPath}`, {
        method: body ? 'POST' : 'GET',
        headers: { 'PRIVATE-TOKEN': 't', 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });
      expect(res.ok).toBe(true);
      return res.json();
    }

    function client() {
      const host = new URL(sandbox.urls.gitlab).host;
      return GitLabPipelinesClient.fromConfig(
        new ConfigReader({
          goldenPath: { gitlab: { host } },
          integrations: {
            gitlab: [
              {
                host,
                apiBaseUrl: `${sandbox.urls.gitlab}/api/v4`,
                token: 'sandbox-token',
              },
            ],
          },
        }),
      );
    }

    it('reads the latest pipeline and its stages in order', async () => {
      const project = await api('/projects', {
        name: 'demo',
        namespace_id: 'apps',
      });
      const commit = (files: Record<string, string>) =>
        api(`/projects/${project.id}/repository/commits`, {
          branch: 'main',
          commit_message: 'Change',
          actions: Object.entries(files).map(([filePath, content]) => ({
            action: 'create',
            file_path: filePath,
            content,
          })),
        });

      await commit({ 'README.md': '# demo\n' });
      await expect(client().getLatestPipeline('apps/demo')).resolves.toBe(
        undefined,
      );

      await commit({
        '.gitlab-ci.yml':
          'stages: [lint, test, security, build, push, update-gitops]\n',
      });
      const second = await commit({ 'src/index.js': 'console.log(1);\n' });

      const latest = await client().getLatestPipeline('apps/demo');
      expect(latest).toEqual({
        id: expect.any(Number),
        status: 'success',
        ref: 'main',
        sha: second.id,
        createdAt: expect.any(String),
        webUrl: `${project.web_url}/-/pipelines/${latest?.id}`,
        stages: [
          'lint',
          'test',
          'security',
          'build',
          'push',
          'update-gitops',
        ].map(name => ({ name, status: 'success' })),
      });

      await expect(
        client().getLatestPipeline('apps/nope'),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
    });
  });
});
