import {
  mockServices,
  registerMswTestHooks,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  RENDER_VERSION,
  runMarkerTopic,
} from '@internal/plugin-golden-path-common';
import { http, HttpResponse, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { goldenPathPlugin } from './plugin';
import { UpgradeStatusGitLab, gitopsRepoPathOf, upgradeStatusOf } from './upgrade';

const GITLAB_TOKEN = 'glpat-TOKEN-3c5e7a9b1d';
const GITLAB_API = 'http://gitlab.test/api/v4';
const record = (version: number) =>
  JSON.stringify({ renderVersion: version, request: { name: 'x' }, runtime: {}, files: {} });
const entity = (name: string, marker?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: marker ? { 'golden-path-idp/run': marker } : ({} as Record<string, string>),
  },
  spec: {},
});

/** A GitLab with one GitOps project per service, as the status reads it. */
function fakeGitLab(opts: {
  topics?: string[];
  record?: string;
  mergeRequest?: boolean;
}): UpgradeStatusGitLab {
  return {
    findProject: async path =>
      path === 'platform/gitops/payments-api-gitops'
        ? {
            id: 7,
            pathWithNamespace: path,
            webUrl: '',
            httpUrlToRepo: '',
            description: '',
            topics: opts.topics ?? ['golden-path-idp', runMarkerTopic('m1')],
          }
        : undefined,
    readFile: async () => opts.record,
    findOpenMergeRequest: async () =>
      opts.mergeRequest
        ? {
            iid: 3,
            title: 'Upgrade to the current golden path (render version 2)',
            description: '',
            state: 'opened',
            sourceBranch: 'golden-path/upgrade',
            targetBranch: 'main',
            webUrl: 'https://gitlab.test/platform/gitops/payments-api-gitops/-/merge_requests/3',
          }
        : undefined,
  };
}
const payments = entity('payments-api', 'm1');
const status = (gitlab: UpgradeStatusGitLab, currentRenderVersion = 2) =>
  upgradeStatusOf(payments, { gitlab, gitopsGroup: '/platform/gitops/', currentRenderVersion });

describe('upgradeStatusOf', () => {
  it('is up to date when the record has the current render version and no upgrade MR is open', async () => {
    await expect(status(fakeGitLab({ record: record(2) }))).resolves.toEqual({
      renderVersion: 2,
      currentRenderVersion: 2,
      upgradeWaiting: false,
    });
  });

  it('has an upgrade waiting when the record is older', async () => {
    await expect(status(fakeGitLab({ record: record(1) }))).resolves.toMatchObject({
      renderVersion: 1,
      upgradeWaiting: true,
    });
  });

  it('names the open upgrade merge request', async () => {
    await expect(status(fakeGitLab({ record: record(2), mergeRequest: true }))).resolves.toEqual({
      renderVersion: 2,
      currentRenderVersion: 2,
      upgradeWaiting: true,
      mergeRequest: {
        iid: 3,
        url: 'https://gitlab.test/platform/gitops/payments-api-gitops/-/merge_requests/3',
        title: 'Upgrade to the current golden path (render version 2)',
      },
    });
  });

  it.each([[undefined], ['not json'], ['{"renderVersion":"1"}']])(
    'has no render version without a readable record (%p)',
    async text => {
      await expect(status(fakeGitLab({ record: text }))).resolves.toEqual({
        renderVersion: null,
        currentRenderVersion: 2,
        upgradeWaiting: false,
      });
    },
  );

  it('refuses a repository that does not carry the service marker', async () => {
    await expect(status(fakeGitLab({ topics: ['golden-path-idp'], record: record(2) }))).rejects.toThrow(
      /No GitOps repository of this service at platform\/gitops\/payments-api-gitops/,
    );
  });

  it('derives the repository path like Create does', () => {
    expect(gitopsRepoPathOf('/platform/gitops/', 'orders')).toBe('platform/gitops/orders-gitops');
  });
});

describe('GET /api/golden-path/upgrade?entityRef=', () => {
  const requests: string[] = [];
  const server = setupServer(
    http.all(/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//, () => passthrough()),
    http.get(`${GITLAB_API}/projects/:id`, ({ request: req, params }) => {
      requests.push(`project ${decodeURIComponent(String(params.id))} ${req.headers.get('private-token') === GITLAB_TOKEN}`);
      if (decodeURIComponent(String(params.id)) !== 'platform/gitops/payments-api-gitops') {
        return HttpResponse.json({ message: '404 Project Not Found' }, { status: 404 });
      }
      return HttpResponse.json({
        id: 7,
        path_with_namespace: 'platform/gitops/payments-api-gitops',
        web_url: 'http://gitlab.test/platform/gitops/payments-api-gitops',
        http_url_to_repo: 'http://gitlab.test/platform/gitops/payments-api-gitops.git',
        topics: ['golden-path-idp', runMarkerTopic('m1')],
      });
    }),
    http.get(`${GITLAB_API}/projects/7/repository/files/:path`, ({ request: req, params }) => {
      requests.push(`file ${decodeURIComponent(String(params.path))} at ${new URL(req.url).searchParams.get('ref')}`);
      return HttpResponse.json({
        file_path: '.golden-path/service.json',
        encoding: 'base64',
        content: Buffer.from(record(RENDER_VERSION)).toString('base64'),
      });
    }),
    http.get(`${GITLAB_API}/projects/7/merge_requests`, ({ request: req }) => {
      const q = new URL(req.url).searchParams;
      requests.push(`merge requests ${q.get('source_branch')} -> ${q.get('target_branch')} ${q.get('state')}`);
      return HttpResponse.json([
        {
          iid: 4,
          title: 'Draft: Upgrade to the current golden path',
          description: 'x',
          state: 'opened',
          source_branch: 'golden-path/upgrade',
          target_branch: 'main',
          web_url: 'http://gitlab.test/platform/gitops/payments-api-gitops/-/merge_requests/4',
        },
      ]);
    }),
  );
  registerMswTestHooks(server);

  async function backend() {
    const { server: http_ } = await startTestBackend({
      features: [
        goldenPathPlugin,
        mockServices.rootConfig.factory({
          data: {
            goldenPath: { gitlab: { host: 'gitlab.test', appGroup: 'apps', gitopsGroup: 'platform/gitops' } },
            integrations: { gitlab: [{ host: 'gitlab.test', apiBaseUrl: GITLAB_API, token: GITLAB_TOKEN }] },
          },
        }),
        catalogServiceMock.factory({ entities: [payments, entity('plain-api')] }),
      ],
    });
    return http_;
  }

  it("answers the service's render version and its open upgrade merge request, read with the platform's token", async () => {
    requests.length = 0;
    const res = await request(await backend()).get(
      `/api/golden-path/upgrade?entityRef=${encodeURIComponent('component:default/payments-api')}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      renderVersion: RENDER_VERSION,
      currentRenderVersion: RENDER_VERSION,
      upgradeWaiting: true,
      mergeRequest: {
        iid: 4,
        url: 'http://gitlab.test/platform/gitops/payments-api-gitops/-/merge_requests/4',
        title: 'Draft: Upgrade to the current golden path',
      },
    });
    expect(requests.sort()).toEqual([
      'file .golden-path/service.json at main',
      'merge requests golden-path/upgrade -> main opened',
      'project platform/gitops/payments-api-gitops true',
    ]);
    expect(res.text).not.toContain(GITLAB_TOKEN);
  });

  it('answers 404 for an entity that is not a golden-path service, asking GitLab nothing', async () => {
    requests.length = 0;
    const res = await request(await backend()).get(
      `/api/golden-path/upgrade?entityRef=${encodeURIComponent('component:default/plain-api')}`,
    );
    expect(res.status).toBe(404);
    expect(requests).toEqual([]);
  });
});
