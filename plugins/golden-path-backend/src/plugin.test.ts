import {
  mockCredentials,
  mockServices,
  registerMswTestHooks,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { http, HttpResponse, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { goldenPathPlugin } from './plugin';

/** A catalog-safe slug of any test value. */
const slug = (value: string) =>
  value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';

/** Golden-path entities, one per ArgoCD application name or GitLab project the tests ask about. */
const entities: any[] = [];
function entityFor(prefix: string, annotations: Record<string, string>, marked = true) {
  const name = `${prefix}-${slug(Object.values(annotations).join('-'))}`;
  if (!entities.some(e => e.metadata.name === name)) {
    entities.push({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name,
        namespace: 'default',
        annotations: { ...(marked ? { 'golden-path-idp/run': 'marker' } : {}), ...annotations },
      },
      spec: {},
    });
  }
  return `component:default/${name}`;
}
/** The status route of the entity whose argocd/app-name is `name`. */
const argoPath = (name: string) =>
  `/api/golden-path/argocd/application?entityRef=${encodeURIComponent(
    entityFor('argo', { 'argocd/app-name': name }),
  )}`;
/** The query of the entity whose gitlab.com/project-slug is `project`. */
const pipelineQuery = (project: string | undefined, extra: object = {}) => ({
  entityRef:
    project === undefined
      ? entityFor('gl-none', { other: 'none' })
      : entityFor('gl', { 'gitlab.com/project-slug': project }),
  ...extra,
});
// Every entity exists before the backend starts.
['demo', 'fresh', 'missing', 'Not_Valid', 'forbidden', 'broken', 'offline', 'unmanaged'].forEach(argoPath);
[undefined, '', 'no-group', '../etc/passwd', 'apps/x?y', 'apps/demo', 'apps/empty', 'apps/nope',
  'other-team/secret-project', 'appsx/demo', 'apps/forbidden', 'apps/broken'].forEach(p => pipelineQuery(p));
const unmarked = entityFor('plain', { 'argocd/app-name': 'demo' }, false);

const ARGOCD_TOKEN = 'argocd-TOKEN-5f3b9c1d7e';
const GITLAB_TOKEN = 'glpat-TOKEN-8a2c4e6f0b';
const ARGOCD = 'http://argocd.test';
const GITLAB_API = 'http://gitlab.test/api/v4';

const config = {
  goldenPath: {
    gitlab: {
      host: 'gitlab.test',
      appGroup: 'apps',
      gitopsGroup: 'platform/gitops',
    },
    argocd: {
      url: `${ARGOCD}/`,
      token: ARGOCD_TOKEN,
      namespace: 'argocd',
      // The scaffolder's patient retries; the card's reads must not use them.
      retry: { maxAttempts: 8, baseDelayMs: 2_000, maxTotalMs: 120_000 },
    },
  },
  integrations: {
    gitlab: [
      {
        host: 'gitlab.example.com',
        apiBaseUrl: 'https://gitlab.example.com/api/v4',
        token: 'another-token',
      },
      { host: 'gitlab.test', apiBaseUrl: GITLAB_API, token: GITLAB_TOKEN },
    ],
  },
};

const SHA = 'a'.repeat(40);
const GITOPS_SHA = 'b'.repeat(40);

/** As ArgoCD answers GET /api/v1/applications/demo once synced. */
const managed = { 'app.kubernetes.io/managed-by': 'golden-path-idp' };
const demoApplication = {
  metadata: {
    name: 'demo',
    namespace: 'argocd',
    resourceVersion: '42',
    labels: managed,
  },
  spec: {
    project: 'demo',
    source: {
      repoURL: 'https://gitlab.test/platform/gitops/demo-gitops.git',
      path: 'manifests',
      targetRevision: 'main',
    },
    destination: {
      server: 'https://kubernetes.default.svc',
      namespace: 'demo',
    },
  },
  status: {
    sync: { status: 'Synced', revision: GITOPS_SHA },
    health: { status: 'Healthy' },
    operationState: {
      phase: 'Succeeded',
      startedAt: '2025-01-02T03:04:00Z',
      finishedAt: '2025-01-02T03:04:05Z',
      syncResult: { revision: GITOPS_SHA },
    },
    history: [
      { id: 0, revision: GITOPS_SHA, deployedAt: '2025-01-02T03:04:05Z' },
    ],
  },
};

/** Jobs as GitLab lists them: newest (highest id) first. */
const demoJobs = [
  {
    id: 17,
    name: 'update-gitops',
    stage: 'update-gitops',
    status: 'running',
    allow_failure: false,
  },
  {
    id: 16,
    name: 'push',
    stage: 'push',
    status: 'success',
    allow_failure: false,
  },
  {
    id: 15,
    name: 'build',
    stage: 'build',
    status: 'success',
    allow_failure: false,
  },
  {
    id: 14,
    name: 'audit',
    stage: 'security',
    status: 'failed',
    allow_failure: true,
  },
  {
    id: 13,
    name: 'sast',
    stage: 'security',
    status: 'success',
    allow_failure: false,
  },
  {
    id: 12,
    name: 'unit',
    stage: 'test',
    status: 'success',
    allow_failure: false,
  },
  {
    id: 11,
    name: 'lint',
    stage: 'lint',
    status: 'success',
    allow_failure: false,
  },
];

const requests: { url: string; auth: string | null }[] = [];

const mswServer = setupServer(
  // supertest's requests to the test backend itself.
  http.all(/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//, () =>
    passthrough(),
  ),
);
registerMswTestHooks(mswServer);

function argocdHandlers() {
  return http.get(
    `${ARGOCD}/api/v1/applications/:name`,
    ({ request: req, params }) => {
      const auth = req.headers.get('authorization');
      requests.push({ url: req.url, auth });
      if (auth !== `Bearer ${ARGOCD_TOKEN}`) {
        return HttpResponse.json(
          { error: 'no session', code: 16 },
          { status: 401 },
        );
      }
      switch (params.name) {
        case 'demo':
          return HttpResponse.json(demoApplication);
        case 'fresh':
          return HttpResponse.json({
            metadata: { name: 'fresh', labels: managed },
            spec: { source: { repoURL: 'git@gitlab.test:x.git' } },
            status: {},
          });
        case 'forbidden':
          return HttpResponse.json(
            {
              error: `permission denied for ${auth}`,
              message: `permission denied for ${auth}`,
              code: 7,
            },
            { status: 403 },
          );
        case 'broken':
          return HttpResponse.json(
            { error: `internal error, header was ${auth}`, code: 13 },
            { status: 500 },
          );
        case 'offline':
          return HttpResponse.error();
        case 'unmanaged':
          return HttpResponse.json({ ...demoApplication, metadata: { name: 'unmanaged' } });
        default:
          return HttpResponse.json(
            { error: 'applications.argoproj.io "x" not found', code: 5 },
            { status: 404 },
          );
      }
    },
  );
}

function gitlabHandlers() {
  const project = (id: unknown) => decodeURIComponent(String(id));
  const check = (req: Request) => {
    const auth = req.headers.get('private-token');
    requests.push({ url: req.url, auth });
    return auth === GITLAB_TOKEN;
  };
  return [
    http.get(
      `${GITLAB_API}/projects/:id/pipelines`,
      ({ request: req, params }) => {
        if (!check(req))
          return HttpResponse.json(
            { message: '401 Unauthorized' },
            { status: 401 },
          );
        const url = new URL(req.url);
        switch (project(params.id)) {
          case 'apps/demo':
            expect(url.searchParams.get('per_page')).toBe('1');
            return HttpResponse.json(
              [
                {
                  id: 99,
                  iid: 3,
                  project_id: 5,
                  sha: SHA,
                  ref: url.searchParams.get('ref') ?? 'main',
                  status: 'running',
                  source: 'push',
                  created_at: '2025-01-02T03:00:00Z',
                  updated_at: '2025-01-02T03:05:00Z',
                  web_url: 'https://gitlab.test/apps/demo/-/pipelines/99',
                },
              ],
              // A next page exists: the client must not follow it.
              {
                headers: {
                  'x-next-page': '2',
                  'x-page': '1',
                  'x-per-page': '1',
                  'x-total': '3',
                },
              },
            );
          case 'apps/empty':
            return HttpResponse.json([]);
          case 'apps/forbidden':
            return HttpResponse.json(
              { message: `403 Forbidden ${GITLAB_TOKEN}` },
              { status: 403 },
            );
          case 'apps/broken':
            return HttpResponse.json(
              { message: `500 oops, token ${GITLAB_TOKEN}` },
              { status: 500 },
            );
          default:
            return HttpResponse.json(
              { message: '404 Project Not Found' },
              { status: 404 },
            );
        }
      },
    ),
    http.get(
      `${GITLAB_API}/projects/:id/pipelines/:pipelineId/jobs`,
      ({ request: req, params }) => {
        if (!check(req))
          return HttpResponse.json(
            { message: '401 Unauthorized' },
            { status: 401 },
          );
        if (project(params.id) !== 'apps/demo' || params.pipelineId !== '99') {
          return HttpResponse.json(
            { message: '404 Not found' },
            { status: 404 },
          );
        }
        return HttpResponse.json(demoJobs);
      },
    ),
  ];
}

async function startBackend(
  options: { data?: object; unauthenticated?: boolean } = {},
) {
  const { server } = await startTestBackend({
    features: [
      goldenPathPlugin,
      mockServices.rootConfig.factory({ data: options.data ?? config }),
      catalogServiceMock.factory({ entities }),
      ...(options.unauthenticated
        ? [
            mockServices.httpAuth.factory({
              defaultCredentials: mockCredentials.none(),
            }),
          ]
        : []),
    ],
  });
  return server;
}

function expectNoToken(text: string) {
  expect(text).not.toContain(ARGOCD_TOKEN);
  expect(text).not.toContain(GITLAB_TOKEN);
  expect(text).not.toContain('TOKEN-');
}

beforeEach(() => {
  requests.length = 0;
  mswServer.use(argocdHandlers(), ...gitlabHandlers());
});

describe('GET /api/golden-path/argocd/application?entityRef=', () => {
  it("answers the application's sync status, health, revision and links", async () => {
    const server = await startBackend();
    const res = await request(server).get(
      argoPath('demo'),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'demo',
      sync: 'Synced',
      health: 'Healthy',
      revision: GITOPS_SHA,
      lastSyncedAt: '2025-01-02T03:04:05Z',
      url: 'http://argocd.test/applications/argocd/demo',
      repoUrl: 'https://gitlab.test/platform/gitops/demo-gitops',
    });
    expect(requests).toEqual([
      {
        url: `${ARGOCD}/api/v1/applications/demo`,
        auth: `Bearer ${ARGOCD_TOKEN}`,
      },
    ]);
    expectNoToken(res.text);
  });

  it('answers Unknown and nulls for an application ArgoCD has not reconciled yet', async () => {
    const server = await startBackend();
    const res = await request(server).get(
      argoPath('fresh'),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'fresh',
      sync: 'Unknown',
      health: 'Unknown',
      revision: null,
      lastSyncedAt: null,
      url: 'http://argocd.test/applications/argocd/fresh',
      repoUrl: null,
    });
  });

  it('answers 404 when ArgoCD has no such application', async () => {
    const server = await startBackend();
    const res = await request(server).get(
      argoPath('missing'),
    );
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({
      name: 'NotFoundError',
      message: "ArgoCD application 'missing' not found",
    });
  });

  it('answers 404 for an entity whose annotation cannot name an application', async () => {
    const server = await startBackend();
    const res = await request(server).get(argoPath('Not_Valid'));
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/has no valid argocd\/app-name annotation/);
    expect(requests).toEqual([]);
  });

  it.each([
    [undefined, /entityRef is required/],
    ['not a ref', /is not an entity ref/],
  ])('answers 400 for entityRef %p', async (entityRef, message) => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/argocd/application')
      .query(entityRef === undefined ? {} : { entityRef });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
    expect(requests).toEqual([]);
  });

  it('serves only golden-path services: 404 for an entity without the run marker', async () => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/argocd/application')
      .query({ entityRef: unmarked });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/is not a golden-path service/);
    expect(requests).toEqual([]);
  });

  it('answers 404 for an application the platform did not make, whatever the annotation says', async () => {
    const server = await startBackend();
    const res = await request(server).get(argoPath('unmanaged'));
    expect(res.status).toBe(404);
    expectNoToken(res.text);
  });

  it('answers 404 for an entity the caller cannot see', async () => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/argocd/application')
      .query({ entityRef: 'component:default/someone-elses' });
    expect(res.status).toBe(404);
    expect(requests).toEqual([]);
  });

  it('limits each user to 60 status requests a minute (429 with Retry-After)', async () => {
    const server = await startBackend();
    const path = argoPath('demo');
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) {
      statuses.push((await request(server).get(path)).status);
    }
    expect(statuses.slice(0, 60).every(s => s === 200)).toBe(true);
    const last = await request(server).get(path);
    expect(last.status).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    // Another user has their own allowance.
    const other = await request(server)
      .get(path)
      .set('authorization', mockCredentials.user.header('user:default/bob'));
    expect(other.status).toBe(200);
  });

  it.each([
    ['forbidden', 403, 'NotAllowedError'],
    ['broken', 503, 'ServiceUnavailableError'],
    ['offline', 503, 'ServiceUnavailableError'],
  ])(
    'maps ArgoCD failures (%s) to Backstage errors without the token',
    async (name, status, errorName) => {
      const server = await startBackend();
      const res = await request(server).get(
        argoPath(name),
      );
      expect(res.status).toBe(status);
      expect(res.body.error.name).toBe(errorName);
      expect(res.body.error.message).toMatch(/ArgoCD/);
      expect(res.body.error.cause).toBeUndefined();
      expectNoToken(res.text);
    },
  );

  it('gives up on a failing ArgoCD after two quick attempts', async () => {
    const server = await startBackend();
    const started = Date.now();
    const res = await request(server).get(
      argoPath('broken'),
    );
    expect(res.status).toBe(503);
    expect(requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('GET /api/golden-path/gitlab/pipelines/latest', () => {
  it('answers the latest pipeline with its stages in run order', async () => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/gitlab/pipelines/latest')
      .query(pipelineQuery('apps/demo'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: 99,
      status: 'running',
      ref: 'main',
      sha: SHA,
      createdAt: '2025-01-02T03:00:00Z',
      webUrl: 'https://gitlab.test/apps/demo/-/pipelines/99',
      stages: [
        { name: 'lint', status: 'success' },
        { name: 'test', status: 'success' },
        // An allowed failure does not fail its stage.
        { name: 'security', status: 'success' },
        { name: 'build', status: 'success' },
        { name: 'push', status: 'success' },
        { name: 'update-gitops', status: 'running' },
      ],
    });
    // One page of pipelines only, then the pipeline's jobs, all with the token.
    expect(requests.map(r => new URL(r.url).pathname)).toEqual([
      '/api/v4/projects/apps%2Fdemo/pipelines',
      '/api/v4/projects/apps%2Fdemo/pipelines/99/jobs',
    ]);
    expect(requests.every(r => r.auth === GITLAB_TOKEN)).toBe(true);
    expectNoToken(res.text);
  });

  it('passes a ref filter on', async () => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/gitlab/pipelines/latest')
      .query(pipelineQuery('apps/demo', { ref: 'release' }));
    expect(res.status).toBe(200);
    expect(res.body.ref).toBe('release');
    expect(new URL(requests[0].url).searchParams.get('ref')).toBe('release');
  });

  it('answers 404 when the project has no pipeline yet', async () => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/gitlab/pipelines/latest')
      .query(pipelineQuery('apps/empty'));
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe(
      "GitLab project 'apps/empty' has no pipeline yet",
    );
  });

  it('answers 404 when the project does not exist', async () => {
    const server = await startBackend();
    const res = await request(server)
      .get('/api/golden-path/gitlab/pipelines/latest')
      .query(pipelineQuery('apps/nope'));
    expect(res.status).toBe(404);
    expect(res.body.error.name).toBe('NotFoundError');
  });

  it.each(['other-team/secret-project', 'appsx/demo'])(
    'refuses %p, outside the platform groups, with 403',
    async project => {
      const server = await startBackend();
      const res = await request(server)
        .get('/api/golden-path/gitlab/pipelines/latest')
        .query(pipelineQuery(project));
      expect(res.status).toBe(403);
      expect(res.body.error.name).toBe('NotAllowedError');
    },
  );

  it.each([undefined, '', 'no-group', '../etc/passwd', 'apps/x?y'])(
    'answers 404 for an entity whose project annotation is %p',
    async project => {
      const server = await startBackend();
      const res = await request(server)
        .get('/api/golden-path/gitlab/pipelines/latest')
        .query(pipelineQuery(project));
      expect(res.status).toBe(404);
      expect(res.body.error.message).toMatch(/has no valid gitlab.com\/project-slug annotation/);
      expect(requests).toEqual([]);
    },
  );

  it.each([
    ['apps/forbidden', 403, 'NotAllowedError'],
    ['apps/broken', 503, 'ServiceUnavailableError'],
  ])(
    'maps GitLab failures (%s) to Backstage errors without the token',
    async (project, status, errorName) => {
      const server = await startBackend();
      const res = await request(server)
        .get('/api/golden-path/gitlab/pipelines/latest')
        .query(pipelineQuery(project));
      expect(res.status).toBe(status);
      expect(res.body.error.name).toBe(errorName);
      expect(res.body.error.message).toMatch(
        /^GitLab gitlab\.test: cannot list pipelines of /,
      );
      expect(res.body.error.cause).toBeUndefined();
      expectNoToken(res.text);
    },
  );
});

describe('access', () => {
  it.each([
    argoPath('demo'),
    `/api/golden-path/gitlab/pipelines/latest?entityRef=${encodeURIComponent(
      pipelineQuery('apps/demo').entityRef,
    )}`,
  ])('rejects unauthenticated requests to %s', async path => {
    const server = await startBackend({ unauthenticated: true });
    const res = await request(server).get(path);
    expect(res.status).toBe(401);
    expect(requests).toEqual([]);
    expectNoToken(res.text);
  });

  it('accepts a signed-in user', async () => {
    const server = await startBackend({ unauthenticated: true });
    const res = await request(server)
      .get(argoPath('demo'))
      .set('authorization', mockCredentials.user.header('user:default/alice'));
    expect(res.status).toBe(200);
    expect(res.body.sync).toBe('Synced');
  });
});

describe('configuration', () => {
  it('starts without goldenPath config and answers 503 naming what is missing', async () => {
    const server = await startBackend({ data: {} });
    const argocd = await request(server).get(
      argoPath('demo'),
    );
    expect(argocd.status).toBe(503);
    expect(argocd.body.error.message).toMatch(
      /^ArgoCD \(goldenPath\.argocd\) is not configured/,
    );
    const gitlab = await request(server)
      .get('/api/golden-path/gitlab/pipelines/latest')
      .query(pipelineQuery('apps/demo'));
    expect(gitlab.status).toBe(503);
    expect(gitlab.body.error.message).toMatch(
      /^GitLab \(goldenPath\.gitlab\) is not configured/,
    );
  });

  it('answers 503 when no integration has a token for the GitLab host', async () => {
    const server = await startBackend({
      data: {
        ...config,
        integrations: {
          gitlab: [{ host: 'gitlab.test', apiBaseUrl: GITLAB_API }],
        },
      },
    });
    const res = await request(server)
      .get('/api/golden-path/gitlab/pipelines/latest')
      .query(pipelineQuery('apps/demo'));
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(
      /No GitLab token for goldenPath\.gitlab\.host 'gitlab\.test'/,
    );
  });
});
