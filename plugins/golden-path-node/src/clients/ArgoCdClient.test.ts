import fs from 'node:fs';
import path from 'node:path';
import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
  serializeError,
} from '@backstage/errors';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import {
  conformanceDir,
  createAjv,
  exampleAppProject,
  exampleApplication,
  strictify,
} from '../testUtils';
import {
  ArgoCdClient,
  ArgoCdClientOptions,
  DEFAULT_ARGOCD_RETRY,
} from './ArgoCdClient';

const BASE = 'https://argocd.test';
const TOKEN = 'argocd-test-token-5f0c1d2e3a4b';

// ---------------------------------------------------------------------------
// The contract: ArgoCD's swagger.json, with unknown properties made to fail.
// ---------------------------------------------------------------------------

const swagger = JSON.parse(
  fs.readFileSync(
    path.join(conformanceDir(__dirname), 'argocd', 'swagger.json'),
    'utf8',
  ),
);
const strictDefinitions = strictify(swagger.definitions) as Record<
  string,
  object
>;
const ajv = createAjv();

function bodyValidator(definition: string) {
  if (!strictDefinitions[definition])
    throw new Error(`swagger has no definition ${definition}`);
  const validate = ajv.compile({
    ...strictDefinitions[definition],
    definitions: strictDefinitions,
  });
  return (body: unknown): string[] =>
    validate(body)
      ? []
      : (validate.errors ?? []).map(e => {
          const extra =
            e.keyword === 'additionalProperties'
              ? ` (${
                  (e.params as { additionalProperty: string })
                    .additionalProperty
                })`
              : '';
          return `${definition}${e.instancePath} ${e.message}${extra}`;
        });
}

const validateProjectCreate = bodyValidator('projectProjectCreateRequest');
const validateProjectUpdate = bodyValidator('projectProjectUpdateRequest');
const validateApplication = bodyValidator('v1alpha1Application');

/** Problems with a request against the swagger paths and their declared query parameters. */
function routeProblems(method: string, url: URL): string[] {
  for (const [template, operations] of Object.entries<Record<string, any>>(
    swagger.paths,
  )) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (!pattern.test(url.pathname)) continue;
    const operation = operations[method.toLowerCase()];
    if (!operation) continue;
    const declared = new Set(
      (operation.parameters ?? [])
        .filter((p: any) => p.in === 'query')
        .map((p: any) => p.name),
    );
    return [...url.searchParams.keys()]
      .filter(key => !declared.has(key))
      .map(
        key => `${method} ${template}: query parameter ${key} is not declared`,
      );
  }
  return [`${method} ${url.pathname} is not an operation of the ArgoCD API`];
}

// ---------------------------------------------------------------------------
// A small stateful fake ArgoCD.
// ---------------------------------------------------------------------------

type Stored = {
  metadata: Record<string, any>;
  spec: Record<string, any>;
  status?: unknown;
};

const fake = {
  projects: new Map<string, Stored>(),
  apps: new Map<string, Stored>(),
  resourceVersion: 100,
};

/** Every request the client made (recorded before any handler runs). */
const requests: Array<{
  method: string;
  url: URL;
  authorization: string | null;
}> = [];
/** Bodies the handlers received, per operation. */
const bodies: Array<{ operation: string; body: any }> = [];
/** Contract violations; any of them fails the test. */
const violations: string[] = [];

function argoError(status: number, code: number, message: string) {
  return HttpResponse.json({ error: message, code, message }, { status });
}

/** What ArgoCD stores: our metadata and spec plus server-side fields. */
function store(sent: {
  metadata: Record<string, any>;
  spec: Record<string, any>;
}): Stored {
  fake.resourceVersion += 1;
  return {
    metadata: {
      ...structuredClone(sent.metadata),
      uid: `uid-${sent.metadata.name}`,
      resourceVersion: String(fake.resourceVersion),
      generation: 1,
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: structuredClone(sent.spec),
    status: {},
  };
}

function checkBody(operation: string, problems: string[], body: unknown) {
  bodies.push({ operation, body });
  violations.push(...problems);
  return problems.length === 0
    ? undefined
    : argoError(
        400,
        3,
        `request body does not match the swagger definition: ${problems.join(
          '; ',
        )}`,
      );
}

function checkToken(request: Request) {
  return request.headers.get('authorization') === `Bearer ${TOKEN}`
    ? undefined
    : argoError(401, 16, 'invalid session: token signature is invalid');
}

const handlers = [
  http.get(`${BASE}/api/v1/projects/:name`, ({ request, params }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    const found = fake.projects.get(String(params.name));
    return found
      ? HttpResponse.json(structuredClone(found))
      : argoError(404, 5, `appprojects.argoproj.io "${params.name}" not found`);
  }),
  http.post(`${BASE}/api/v1/projects`, async ({ request }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    const body: any = await request.json();
    const invalid = checkBody(
      'createProject',
      validateProjectCreate(body),
      body,
    );
    if (invalid) return invalid;
    if (body.upsert !== false)
      violations.push('createProject: upsert must be false');
    const name = body.project.metadata.name;
    if (fake.projects.has(name)) {
      return argoError(
        400,
        3,
        'existing project spec is different; use upsert flag to force update',
      );
    }
    fake.projects.set(name, store(body.project));
    return HttpResponse.json(structuredClone(fake.projects.get(name)));
  }),
  http.put(`${BASE}/api/v1/projects/:name`, async ({ request, params }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    const body: any = await request.json();
    const invalid = checkBody(
      'updateProject',
      validateProjectUpdate(body),
      body,
    );
    if (invalid) return invalid;
    const name = String(params.name);
    if (body.project.metadata.name !== name)
      violations.push('updateProject: name differs from path');
    const current = fake.projects.get(name);
    if (!current)
      return argoError(404, 5, `appprojects.argoproj.io "${name}" not found`);
    if (
      body.project.metadata.resourceVersion !== current.metadata.resourceVersion
    ) {
      return argoError(
        409,
        10,
        `Operation cannot be fulfilled on appprojects.argoproj.io "${name}": the object has been modified`,
      );
    }
    fake.projects.set(name, store(body.project));
    return HttpResponse.json(structuredClone(fake.projects.get(name)));
  }),
  http.delete(`${BASE}/api/v1/projects/:name`, ({ request, params }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    if (!fake.projects.delete(String(params.name))) {
      return argoError(
        404,
        5,
        `appprojects.argoproj.io "${params.name}" not found`,
      );
    }
    return HttpResponse.json({});
  }),

  http.get(`${BASE}/api/v1/applications/:name`, ({ request, params }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    const found = fake.apps.get(String(params.name));
    return found
      ? HttpResponse.json(structuredClone(found))
      : argoError(
          404,
          5,
          `applications.argoproj.io "${params.name}" not found`,
        );
  }),
  http.post(`${BASE}/api/v1/applications`, async ({ request }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    const body: any = await request.json();
    const invalid = checkBody(
      'createApplication',
      validateApplication(body),
      body,
    );
    if (invalid) return invalid;
    if (new URL(request.url).searchParams.get('upsert') !== 'false') {
      violations.push('createApplication: query upsert=false expected');
    }
    const name = body.metadata.name;
    if (fake.apps.has(name)) {
      return argoError(
        400,
        3,
        'existing application spec is different, use upsert flag to force update',
      );
    }
    fake.apps.set(name, store(body));
    return HttpResponse.json(structuredClone(fake.apps.get(name)));
  }),
  http.put(`${BASE}/api/v1/applications/:name`, async ({ request, params }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    const body: any = await request.json();
    const invalid = checkBody(
      'updateApplication',
      validateApplication(body),
      body,
    );
    if (invalid) return invalid;
    const name = String(params.name);
    if (body.metadata.name !== name)
      violations.push('updateApplication: name differs from path');
    const current = fake.apps.get(name);
    if (!current)
      return argoError(404, 5, `applications.argoproj.io "${name}" not found`);
    if (body.metadata.resourceVersion !== current.metadata.resourceVersion) {
      return argoError(409, 10, `the object has been modified`);
    }
    fake.apps.set(name, store(body));
    return HttpResponse.json(structuredClone(fake.apps.get(name)));
  }),
  http.delete(`${BASE}/api/v1/applications/:name`, ({ request, params }) => {
    const denied = checkToken(request);
    if (denied) return denied;
    if (!fake.apps.delete(String(params.name))) {
      return argoError(
        404,
        5,
        `applications.argoproj.io "${params.name}" not found`,
      );
    }
    return HttpResponse.json({});
  }),
];

const server = setupServer(...handlers);
registerMswTestHooks(server);
server.events.on('request:start', ({ request }) => {
  requests.push({
    method: request.method,
    url: new URL(request.url),
    authorization: request.headers.get('authorization'),
  });
});

// ---------------------------------------------------------------------------

const project: Record<string, any> = structuredClone(exampleAppProject);
const application: Record<string, any> = structuredClone(exampleApplication);
const projectName = project.metadata.name;
const appName = application.metadata.name;

let sleeps: number[] = [];

function client(overrides: Partial<ArgoCdClientOptions> = {}) {
  return new ArgoCdClient({
    baseUrl: `${BASE}/`,
    token: TOKEN,
    sleep: async ms => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
}

const calls = (method: string, pathname: string) =>
  requests.filter(r => r.method === method && r.url.pathname === pathname);

beforeEach(() => {
  fake.projects.clear();
  fake.apps.clear();
  requests.length = 0;
  bodies.length = 0;
  violations.length = 0;
  sleeps = [];
});

afterEach(() => {
  // Every request follows the swagger paths; every body matched its definition.
  // An error thrown here fails the test that just ran.
  const problems = [
    ...violations,
    ...requests.flatMap(r => routeProblems(r.method, r.url)),
  ];
  if (problems.length > 0) {
    throw new Error(`ArgoCD API contract violations:\n${problems.join('\n')}`);
  }
});

describe('the strict swagger validator', () => {
  it('accepts the rendered AppProject and Application as ArgoCD declares them', () => {
    const { metadata, spec } = application;
    expect(validateApplication({ metadata, spec })).toEqual([]);
    expect(
      validateProjectCreate({
        project: { metadata: project.metadata, spec: project.spec },
        upsert: false,
      }),
    ).toEqual([]);
  });

  it('rejects unknown properties, such as a typo or a top-level field the API does not declare', () => {
    const { metadata, spec } = application;
    const typo = structuredClone({ metadata, spec }) as any;
    typo.spec.syncPolicy.automated = { prune: true, selfheal: true };
    expect(validateApplication(typo).join()).toMatch(/selfheal/);
    expect(
      validateProjectCreate({
        project: { metadata, spec: {} },
        upsert: false,
        force: true,
      }).join(),
    ).toMatch(/force/);
  });
});

describe.each([
  {
    kind: 'project',
    resource: project as Record<string, any>,
    name: projectName,
    get: (c: ArgoCdClient, n: string) => c.getProject(n),
    ensure: (c: ArgoCdClient, r: Record<string, any>, update?: boolean) =>
      c.ensureProject(r, { update }),
    collection: '/api/v1/projects',
    stored: () => fake.projects,
    sentSpec: (body: any) => body.project.spec,
    sentMetadata: (body: any) => body.project.metadata,
    change: (r: any) => ({
      ...r,
      spec: { ...r.spec, description: 'changed by hand' },
    }),
    changedPath: 'spec.description',
    emptyField: 'sourceNamespaces',
  },
  {
    kind: 'application',
    resource: application as Record<string, any>,
    name: appName,
    get: (c: ArgoCdClient, n: string) => c.getApplication(n),
    ensure: (c: ArgoCdClient, r: Record<string, any>, update?: boolean) =>
      c.ensureApplication(r, { update }),
    collection: '/api/v1/applications',
    stored: () => fake.apps,
    sentSpec: (body: any) => body.spec,
    sentMetadata: (body: any) => body.metadata,
    change: (r: any) => ({
      ...r,
      spec: {
        ...r.spec,
        source: { ...r.spec.source, targetRevision: 'develop' },
      },
    }),
    changedPath: 'spec.source.targetRevision',
    emptyField: 'ignoreDifferences',
  },
])(
  'ensure $kind',
  ({
    kind,
    resource,
    name,
    get,
    ensure,
    collection,
    stored,
    sentSpec,
    sentMetadata,
    change,
    changedPath,
    emptyField,
  }) => {
    it('creates it when absent, with a body that matches the swagger definition', async () => {
      const argocd = client();
      await expect(get(argocd, name)).resolves.toBeUndefined();

      await expect(ensure(argocd, resource)).resolves.toBe('created');

      expect(calls('POST', collection)).toHaveLength(1);
      expect(bodies).toHaveLength(1);
      expect(sentSpec(bodies[0].body)).toEqual(resource.spec);
      expect(sentMetadata(bodies[0].body)).toEqual(resource.metadata);
      expect(stored().get(name)?.spec).toEqual(resource.spec);
      await expect(get(argocd, name)).resolves.toMatchObject({
        metadata: { name },
        spec: resource.spec,
      });
    });

    it('reads nothing when the caller says what it has just read', async () => {
      const argocd = client();
      const created = { ...resource, metadata: { ...resource.metadata } };
      const opts = { current: undefined };
      const create =
        kind === 'project'
          ? argocd.ensureProject(created, opts)
          : argocd.ensureApplication(created, opts);
      await expect(create).resolves.toBe('created');
      expect(requests.map(r => r.method)).toEqual(['POST']);

      requests.length = 0;
      const current = await get(argocd, name);
      requests.length = 0;
      const again =
        kind === 'project'
          ? argocd.ensureProject(resource, { current })
          : argocd.ensureApplication(resource, { current });
      await expect(again).resolves.toBe('unchanged');
      expect(requests).toHaveLength(0);
    });

    it('reports an identical one as unchanged without writing', async () => {
      const argocd = client();
      await ensure(argocd, resource);
      requests.length = 0;

      await expect(ensure(argocd, resource)).resolves.toBe('unchanged');

      expect(requests.map(r => r.method)).toEqual(['GET']);
    });

    it('ignores what ArgoCD adds to the spec and zero values it omits', async () => {
      const argocd = client();
      const withEmpty = {
        ...resource,
        spec: { ...resource.spec, [emptyField]: [] },
      };
      await ensure(argocd, withEmpty);
      const current = stored().get(name)!;
      delete current.spec[emptyField]; // omitempty
      current.spec.serverDefault = { added: true };

      await expect(ensure(argocd, withEmpty)).resolves.toBe('unchanged');
    });

    it(`refuses a different one with a ConflictError naming the ${kind}`, async () => {
      const argocd = client();
      await ensure(argocd, resource);
      requests.length = 0;

      const err = await ensure(argocd, change(resource)).catch(e => e);

      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toContain(`'${name}'`);
      expect(err.message).toContain(changedPath);
      expect(requests.map(r => r.method)).toEqual(['GET']);
      expect(stored().get(name)?.spec).toEqual(resource.spec);
    });

    it('replaces a different one with PUT when asked to update, sending the current resourceVersion', async () => {
      const argocd = client();
      await ensure(argocd, resource);
      const resourceVersion = stored().get(name)!.metadata.resourceVersion;
      bodies.length = 0;

      await expect(ensure(argocd, change(resource), true)).resolves.toBe(
        'updated',
      );

      expect(calls('PUT', `${collection}/${name}`)).toHaveLength(1);
      expect(sentMetadata(bodies[0].body).resourceVersion).toBe(
        resourceVersion,
      );
      expect(stored().get(name)?.spec).toEqual(change(resource).spec);
    });

    it('does not write when asked to update an identical one', async () => {
      const argocd = client();
      await ensure(argocd, resource);
      await expect(ensure(argocd, resource, true)).resolves.toBe('unchanged');
      expect(requests.filter(r => r.method === 'PUT')).toEqual([]);
    });

    it('maps a 404 on update (deleted meanwhile) to NotFoundError', async () => {
      const argocd = client();
      await ensure(argocd, resource);
      server.use(
        http.put(
          `${BASE}${collection}/${name}`,
          () => argoError(404, 5, `"${name}" not found`),
          {
            once: true,
          },
        ),
      );
      const err = await ensure(argocd, change(resource), true).catch(e => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(`'${name}'`);
    });

    it('maps a stale resourceVersion on update to ConflictError', async () => {
      const argocd = client();
      await ensure(argocd, resource);
      server.use(
        http.put(
          `${BASE}${collection}/${name}`,
          () => argoError(409, 10, 'the object has been modified'),
          {
            once: true,
          },
        ),
      );
      const err = await ensure(argocd, change(resource), true).catch(e => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toMatch(/the object has been modified/);
    });

    it('refuses an object without metadata.name', async () => {
      const err = await ensure(client(), { ...resource, metadata: {} }).catch(
        e => e,
      );
      expect(err).toBeInstanceOf(InputError);
      expect(requests).toEqual([]);
    });
  },
);

describe('delete', () => {
  it('deletes an application with cascade=true', async () => {
    const argocd = client();
    await argocd.ensureApplication(application);

    await argocd.deleteApplication(appName);

    const [del] = calls('DELETE', `/api/v1/applications/${appName}`);
    expect(del.url.searchParams.get('cascade')).toBe('true');
    expect(fake.apps.has(appName)).toBe(false);
  });

  it('deletes a project', async () => {
    const argocd = client();
    await argocd.ensureProject(project);
    await argocd.deleteProject(projectName);
    expect(calls('DELETE', `/api/v1/projects/${projectName}`)).toHaveLength(1);
    expect(fake.projects.has(projectName)).toBe(false);
  });

  it('treats a missing application or project (404) as deleted', async () => {
    const argocd = client();
    await expect(argocd.deleteApplication('gone')).resolves.toBeUndefined();
    await expect(argocd.deleteProject('gone')).resolves.toBeUndefined();
    expect(
      requests.map(r => `${r.method} ${r.url.pathname}${r.url.search}`),
    ).toEqual([
      'DELETE /api/v1/applications/gone?cascade=true',
      'DELETE /api/v1/projects/gone',
    ]);
  });

  it('encodes names in the path', async () => {
    await client().deleteProject('a/b');
    expect(requests[0].url.pathname).toBe('/api/v1/projects/a%2Fb');
  });
});

describe('repoURL normalisation', () => {
  const expected =
    'https://gitlab.example.com/platform/gitops/payments-api-gitops.git';

  it.each([
    [
      'without .git',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops',
    ],
    [
      'with .git',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops.git',
    ],
    [
      'with a trailing slash',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops/',
    ],
    [
      'with .git and a trailing slash',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops.git/',
    ],
    [
      'with .git.git',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops.git.git',
    ],
    [
      'with .GIT',
      'https://gitlab.example.com/platform/gitops/payments-api-gitops.GIT',
    ],
  ])(
    'sends spec.source.repoURL %s with exactly one .git',
    async (_case, repoURL) => {
      const app = {
        ...application,
        spec: {
          ...application.spec,
          source: { ...application.spec.source, repoURL },
        },
      };

      await expect(client().ensureApplication(app)).resolves.toBe('created');

      expect(bodies[0].body.spec.source.repoURL).toBe(expected);
      expect(app.spec.source.repoURL).toBe(repoURL); // the caller's object is left alone
    },
  );

  it('compares after normalising, so a spelling variant is unchanged', async () => {
    const argocd = client();
    await argocd.ensureApplication(application);
    const variant = {
      ...application,
      spec: {
        ...application.spec,
        source: {
          ...application.spec.source,
          repoURL: `${expected.slice(0, -4)}/`,
        },
      },
    };
    await expect(argocd.ensureApplication(variant)).resolves.toBe('unchanged');
  });

  it('normalises every entry of spec.sources too', async () => {
    const { source, ...rest } = application.spec;
    const app = {
      ...application,
      spec: {
        ...rest,
        sources: [{ ...source, repoURL: expected.slice(0, -4) }],
      },
    };
    await client().ensureApplication(app);
    expect(bodies[0].body.spec.sources[0].repoURL).toBe(expected);
  });
});

describe('retries', () => {
  it('retries a 503, then succeeds', async () => {
    server.use(
      http.post(
        `${BASE}/api/v1/applications`,
        () => argoError(503, 14, 'upstream connect error'),
        {
          once: true,
        },
      ),
    );

    await expect(client().ensureApplication(application)).resolves.toBe(
      'created',
    );

    expect(calls('POST', '/api/v1/applications')).toHaveLength(2);
    expect(sleeps).toEqual([0.5 * DEFAULT_ARGOCD_RETRY.baseDelayMs]);
  });

  it.each([
    [
      400,
      'application spec for payments-api-gitops is invalid: InvalidSpecError: repository not found',
    ],
    [403, 'rpc error: code = Unknown desc = authentication required'],
    [500, 'dial tcp 10.0.0.1:443: connect: connection refused'],
    [400, 'unable to resolve "main" to a commit SHA'],
    [400, 'read tcp: i/o timeout'],
  ])(
    'retries ArgoCD catching up with GitLab (%i "%s"), then succeeds',
    async (status, message) => {
      server.use(
        http.post(
          `${BASE}/api/v1/applications`,
          () => argoError(status, 3, message),
          { once: true },
        ),
        http.post(
          `${BASE}/api/v1/applications`,
          () => argoError(status, 3, message),
          { once: true },
        ),
      );

      await expect(client().ensureApplication(application)).resolves.toBe(
        'created',
      );

      expect(calls('POST', '/api/v1/applications')).toHaveLength(3);
      expect(sleeps).toEqual([250, 500]);
    },
  );

  it('retries network errors, then succeeds', async () => {
    server.use(
      http.get(`${BASE}/api/v1/projects/:name`, () => HttpResponse.error(), {
        once: true,
      }),
    );
    await expect(client().ensureProject(project)).resolves.toBe('created');
    expect(calls('GET', `/api/v1/projects/${projectName}`)).toHaveLength(2);
  });

  it('times out a hanging request and retries it', async () => {
    server.use(
      http.get(
        `${BASE}/api/v1/projects/:name`,
        async () => {
          await delay('infinite');
          return HttpResponse.json({});
        },
        { once: true },
      ),
    );
    await expect(
      client({ requestTimeoutMs: 50 }).getProject(projectName),
    ).resolves.toBeUndefined();
    expect(calls('GET', `/api/v1/projects/${projectName}`)).toHaveLength(2);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let n = 0;
    server.use(
      http.post(`${BASE}/api/v1/projects`, () => {
        n += 1;
        return argoError(503, 14, `ArgoCD is restarting (${n})`);
      }),
    );

    const err = await client({ retry: { maxAttempts: 3 } })
      .ensureProject(project)
      .catch(e => e);

    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.message).toContain(`project '${projectName}'`);
    expect(err.message).toContain('after 3 attempts');
    expect(err.message).toContain('HTTP 503');
    expect(err.message).toContain('ArgoCD is restarting (3)');
    expect(err.cause.message).toBe('ArgoCD is restarting (3)');
    expect(calls('POST', '/api/v1/projects')).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]);
  });

  it('gives up on a transient message after maxAttempts with the mapped last error', async () => {
    server.use(
      http.post(`${BASE}/api/v1/applications`, () =>
        argoError(400, 3, 'InvalidSpecError: repository not found'),
      ),
    );
    const err = await client({ retry: { maxAttempts: 2 } })
      .ensureApplication(application)
      .catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/after 2 attempts.*repository not found/);
  });

  it('gives up when the time budget runs out', async () => {
    let t = 0;
    server.use(
      http.get(`${BASE}/api/v1/applications/:name`, () =>
        argoError(502, 14, 'bad gateway'),
      ),
    );
    const err = await client({
      retry: {
        maxAttempts: 100,
        baseDelayMs: 1000,
        maxDelayMs: 1000,
        maxTotalMs: 2500,
      },
      random: () => 1,
      now: () => t,
      sleep: async ms => {
        sleeps.push(ms);
        t += ms;
      },
    })
      .getApplication(appName)
      .catch(e => e);
    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.message).toContain('after 3 attempts');
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('does not retry a 403 "permission denied"', async () => {
    server.use(
      http.post(`${BASE}/api/v1/projects`, () =>
        argoError(
          403,
          7,
          'permission denied: projects, create, payments-api, sub: backstage',
        ),
      ),
    );
    const err = await client()
      .ensureProject(project)
      .catch(e => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(err.message).toContain(`project '${projectName}'`);
    expect(err.message).toContain('permission denied');
    expect(calls('POST', '/api/v1/projects')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('logs each retry as a warning', async () => {
    const logger = mockServices.logger.mock();
    server.use(
      http.get(
        `${BASE}/api/v1/projects/:name`,
        () => argoError(503, 14, 'unavailable'),
        { once: true },
      ),
    );
    await client({ logger }).getProject(projectName);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toMatch(
      new RegExp(
        `reading project '${projectName}' failed \\(attempt 1 of 8\\): unavailable; retrying in 250 ms`,
      ),
    );
  });
});

describe('errors', () => {
  it.each([
    [400, InputError],
    [401, NotAllowedError],
    [403, NotAllowedError],
    [409, ConflictError],
    [422, ForwardedError],
  ])(
    'maps HTTP %i to %p, naming the resource, without retrying',
    async (status, type) => {
      server.use(
        http.get(`${BASE}/api/v1/applications/:name`, () =>
          argoError(status, 2, 'nope'),
        ),
      );
      const err = await client()
        .getApplication(appName)
        .catch(e => e);
      expect(err).toBeInstanceOf(type);
      expect(err.message).toContain(`application '${appName}'`);
      expect(err.message).toContain(`HTTP ${status}`);
      expect(calls('GET', `/api/v1/applications/${appName}`)).toHaveLength(1);
    },
  );

  it('maps a 5xx to ForwardedError keeping the cause', async () => {
    server.use(
      http.get(`${BASE}/api/v1/applications/:name`, () =>
        argoError(500, 13, 'boom'),
      ),
    );
    const err = await client({ retry: { maxAttempts: 1 } })
      .getApplication(appName)
      .catch(e => e);
    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.cause.message).toBe('boom');
  });

  it('keeps the body text when the error is not JSON', async () => {
    server.use(
      http.get(`${BASE}/api/v1/applications/:name`, () =>
        HttpResponse.text('<html>forbidden by proxy</html>', { status: 403 }),
      ),
    );
    const err = await client()
      .getApplication(appName)
      .catch(e => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(err.message).toContain('forbidden by proxy');
  });
});

describe('authentication', () => {
  it('sends the token as a bearer token on every request', async () => {
    const argocd = client();
    await argocd.ensureProject(project);
    await argocd.ensureApplication(application);
    await argocd.deleteApplication(appName);
    await argocd.deleteProject(projectName);
    expect(requests.length).toBeGreaterThanOrEqual(6);
    expect(new Set(requests.map(r => r.authorization))).toEqual(
      new Set([`Bearer ${TOKEN}`]),
    );
  });

  it('never puts the token in error messages, logs or serialized errors', async () => {
    const logger = mockServices.logger.mock();
    server.use(
      http.get(`${BASE}/api/v1/projects/:name`, ({ request }) =>
        argoError(
          503,
          14,
          `rejected header ${request.headers.get('authorization')}`,
        ),
      ),
      http.get(`${BASE}/api/v1/applications/:name`, ({ request }) =>
        argoError(
          403,
          7,
          `token ${request.headers.get('authorization')} lacks permission`,
        ),
      ),
    );
    const argocd = client({ logger, retry: { maxAttempts: 2 } });

    const errors = [
      await argocd.getProject(projectName).catch(e => e),
      await argocd.getApplication(appName).catch(e => e),
      await client({
        fetch: async () => {
          throw new TypeError(
            `Headers.append: "Bearer ${TOKEN}\n" is an invalid header value.`,
          );
        },
        retry: { maxAttempts: 2 },
      })
        .deleteProject(projectName)
        .catch(e => e),
    ];

    expect(errors[0]).toBeInstanceOf(ForwardedError);
    expect(errors[1]).toBeInstanceOf(NotAllowedError);
    expect(errors[2]).toBeInstanceOf(ForwardedError);
    for (const err of errors) {
      expect(err.message).toContain('***');
      expect(err.message).not.toContain(TOKEN);
      expect(
        JSON.stringify(serializeError(err, { includeStack: true })),
      ).not.toContain(TOKEN);
    }
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(TOKEN);
  });

  it('maps a rejected token (401) to NotAllowedError', async () => {
    const err = await client({ token: 'wrong-token' })
      .getProject(projectName)
      .catch(e => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(err.message).not.toContain('wrong-token');
  });
});

describe('fromConfig', () => {
  it('reads goldenPath.argocd.url, .token and .retry', async () => {
    server.use(
      http.get(`${BASE}/api/v1/projects/:name`, () =>
        argoError(503, 14, 'down'),
      ),
    );
    const config = new ConfigReader({
      goldenPath: {
        argocd: {
          url: BASE,
          token: TOKEN,
          retry: {
            maxAttempts: 2,
            baseDelayMs: 10,
            maxDelayMs: 20,
            maxTotalMs: 1000,
          },
        },
      },
    });
    const argocd = ArgoCdClient.fromConfig(config, {
      sleep: async ms => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });

    const err = await argocd.getProject(projectName).catch(e => e);

    expect(err.message).toContain('after 2 attempts');
    expect(sleeps).toEqual([5]);
    expect(requests.map(r => r.authorization)).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
    ]);
  });

  it('works without a retry section and requires url and token', async () => {
    const argocd = ArgoCdClient.fromConfig(
      new ConfigReader({ goldenPath: { argocd: { url: BASE, token: TOKEN } } }),
    );
    await expect(argocd.getProject(projectName)).resolves.toBeUndefined();
    expect(() =>
      ArgoCdClient.fromConfig(
        new ConfigReader({ goldenPath: { argocd: { url: BASE } } }),
      ),
    ).toThrow(/token/);
  });
});
