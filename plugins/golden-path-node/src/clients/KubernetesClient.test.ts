import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
  serializeError,
} from '@backstage/errors';
import { KubeConfig } from '@kubernetes/client-node';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { DEFAULT_FIELD_MANAGER, KubernetesClient } from './KubernetesClient';
import { KubernetesObject } from './types';

const SERVER = 'https://k8s.test';
const TOKEN = 'k8s-test-token-9a8b7c6d5e';

// ---------------------------------------------------------------------------
// A small stateful fake API server: discovery for the kinds we apply, and
// objects kept by URL path.
// ---------------------------------------------------------------------------

const discovery: Record<
  string,
  Array<{ name: string; kind: string; namespaced: boolean }>
> = {
  '/api/v1': [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  ],
  '/apis/networking.k8s.io/v1': [
    { name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  ],
  '/apis/rbac.authorization.k8s.io/v1': [
    { name: 'roles', kind: 'Role', namespaced: true },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  ],
};

const stored = new Map<string, Record<string, any>>();
const requests: Array<{
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | null;
  authorization: string | null;
  body?: any;
}> = [];

function status(code: number, reason: string, message: string) {
  return HttpResponse.json(
    {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    },
    { status: code },
  );
}

const handlers = [
  ...Object.entries(discovery).map(([groupVersionPath, resources]) =>
    http.get(`${SERVER}${groupVersionPath}`, () =>
      HttpResponse.json({
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: groupVersionPath.replace(/^\/apis?\//, ''),
        resources: resources.map(r => ({
          ...r,
          singularName: r.kind.toLowerCase(),
          verbs: [
            'create',
            'delete',
            'get',
            'list',
            'patch',
            'update',
            'watch',
          ],
        })),
      }),
    ),
  ),
  http.patch(`${SERVER}/*`, async ({ request }) => {
    const url = new URL(request.url);
    const body: any = JSON.parse(await request.text());
    // Requests run concurrently: attach the body to this request's record.
    const record = [...requests]
      .reverse()
      .find(r => r.method === 'PATCH' && r.path === url.pathname && !r.body);
    record!.body = body;
    const object = {
      ...body,
      metadata: {
        ...body.metadata,
        uid: `uid-${body.metadata.name}`,
        resourceVersion: '1',
      },
    };
    stored.set(url.pathname, object);
    return HttpResponse.json(object);
  }),
  http.delete(`${SERVER}/*`, ({ request }) => {
    const { pathname } = new URL(request.url);
    const name = pathname.split('/').pop();
    if (!stored.delete(pathname))
      return status(404, 'NotFound', `"${name}" not found`);
    return HttpResponse.json({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Success',
      metadata: {},
    });
  }),
  http.get(`${SERVER}/api/v1/namespaces/:name`, ({ request, params }) => {
    const found = stored.get(new URL(request.url).pathname);
    return found
      ? HttpResponse.json(found)
      : status(404, 'NotFound', `namespaces "${params.name}" not found`);
  }),
];

const server = setupServer(...handlers);
registerMswTestHooks(server);
server.events.on('request:start', ({ request }) => {
  const url = new URL(request.url);
  requests.push({
    method: request.method,
    path: url.pathname,
    query: url.searchParams,
    contentType: request.headers.get('content-type'),
    authorization: request.headers.get('authorization'),
  });
});

beforeEach(() => {
  stored.clear();
  requests.length = 0;
});

// ---------------------------------------------------------------------------

function kubeConfig(token = TOKEN): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: SERVER, skipTLSVerify: false }],
    users: [{ name: 'test', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kc;
}

/** msw intercepts the global fetch only, so tests send through it. */
const viaGlobalFetch: typeof fetch = (input, init) =>
  globalThis.fetch(input, init);

function client(
  options: {
    token?: string;
    fieldManager?: string;
    requestTimeoutMs?: number;
  } = {},
) {
  return new KubernetesClient({
    kc: kubeConfig(options.token),
    fieldManager: options.fieldManager,
    requestTimeoutMs: options.requestTimeoutMs,
    fetch: viaGlobalFetch,
  });
}

const NS = 'payments-api';
const bundle: KubernetesObject[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS, labels: { team: 'payments' } },
  },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: NS, namespace: NS },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny', namespace: NS },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: `${NS}-read-only`, namespace: NS },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${NS}-read-only`, namespace: NS },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: `${NS}-read-only`,
    },
    subjects: [
      {
        kind: 'Group',
        name: 'team-payments',
        apiGroup: 'rbac.authorization.k8s.io',
      },
    ],
  },
];

const bundlePaths = [
  `/api/v1/namespaces/${NS}`,
  `/api/v1/namespaces/${NS}/serviceaccounts/${NS}`,
  `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/default-deny`,
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/${NS}-read-only`,
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/${NS}-read-only`,
];

const writes = (method: string) => requests.filter(r => r.method === method);

describe('apply', () => {
  it('server-side applies the Namespace first, then every other object', async () => {
    await client().apply(bundle);

    const patches = writes('PATCH');
    expect(patches[0].path).toBe(bundlePaths[0]);
    expect(bundle[0].kind).toBe('Namespace');
    expect(patches.map(p => p.path).sort()).toEqual([...bundlePaths].sort());
    for (const patch of patches) {
      expect(patch.contentType).toBe('application/apply-patch+yaml');
      expect(Object.fromEntries(patch.query)).toEqual({
        fieldManager: 'golden-path-idp',
        force: 'true',
      });
    }
    for (const [i, path] of bundlePaths.entries()) {
      expect(patches.find(p => p.path === path)!.body).toEqual(bundle[i]);
    }
  });

  it('applies a NetworkPolicy at its namespaced path', async () => {
    await client().apply([bundle[2]]);
    expect(writes('PATCH').map(p => `${p.method} ${p.path}`)).toEqual([
      'PATCH /apis/networking.k8s.io/v1/namespaces/payments-api/networkpolicies/default-deny',
    ]);
  });

  it('sends NetworkPolicy peers and LimitRange defaults under their wire names', async () => {
    const policy: KubernetesObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-from-alb', namespace: NS },
      spec: {
        podSelector: { matchLabels: { app: NS } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.1/32'] } }],
            ports: [{ protocol: 'TCP', port: 3000 }],
          },
        ],
      },
    };
    const limits: KubernetesObject = {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: NS, namespace: NS },
      spec: {
        limits: [{ type: 'Container', default: { cpu: '500m' }, defaultRequest: { cpu: '100m' } }],
      },
    };
    server.use(
      http.get(`${SERVER}/api/v1`, () =>
        HttpResponse.json({
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'v1',
          resources: [{ name: 'limitranges', singularName: 'limitrange', kind: 'LimitRange', namespaced: true, verbs: ['patch'] }],
        }),
      ),
    );
    await client().apply([policy, limits]);
    const sent = (kind: string) => writes('PATCH').find(r => r.body?.kind === kind)!.body;
    expect(sent('NetworkPolicy').spec.ingress).toEqual((policy.spec as any).ingress);
    expect(sent('LimitRange').spec).toEqual(limits.spec);
  });

  it('uses the given field manager', async () => {
    await client({ fieldManager: 'someone-else' }).apply([bundle[0]]);
    expect(writes('PATCH')[0].query.get('fieldManager')).toBe('someone-else');
    expect(DEFAULT_FIELD_MANAGER).toBe('golden-path-idp');
  });

  it('discovers only the group versions it needs', async () => {
    await client().apply(bundle);
    expect([...new Set(writes('GET').map(r => r.path))].sort()).toEqual([
      '/api/v1',
      '/apis/networking.k8s.io/v1',
      '/apis/rbac.authorization.k8s.io/v1',
    ]);
  });

  it('leaves the caller objects untouched', async () => {
    const objects = structuredClone(bundle);
    await client().apply(objects);
    expect(objects).toEqual(bundle);
  });

  it('reports the first failure once every apply has settled, naming the object', async () => {
    server.use(
      http.patch(
        `${SERVER}/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/:name`,
        () =>
          status(
            403,
            'Forbidden',
            'networkpolicies.networking.k8s.io is forbidden: User "idp" cannot patch',
          ),
      ),
    );
    const err = await client()
      .apply(bundle)
      .catch(e => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(err.message).toContain(`NetworkPolicy ${NS}/default-deny`);
    expect(err.message).toContain('is forbidden');
    expect(writes('PATCH')).toHaveLength(bundle.length);
  });

  it('refuses an object without kind or name before sending anything', async () => {
    const bad = {
      apiVersion: 'v1',
      kind: '',
      metadata: { name: 'x' },
    } as KubernetesObject;
    const err = await client()
      .apply([bundle[0], bad])
      .catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(requests).toEqual([]);
  });

  it('fails with the object named when the kind is not served', async () => {
    const err = await client()
      .apply([
        {
          apiVersion: 'v1',
          kind: 'Gadget',
          metadata: { name: 'g', namespace: NS },
        },
      ])
      .catch(e => e);
    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.message).toContain(`Gadget ${NS}/g`);
    expect(err.message).toMatch(/Unrecognized API version and kind/);
  });
});

describe('delete', () => {
  it('deletes namespaced objects before the Namespace', async () => {
    const k8s = client();
    await k8s.apply(bundle);
    requests.length = 0;

    await k8s.delete(bundle);

    const deletes = writes('DELETE').map(r => r.path);
    expect(deletes.at(-1)).toBe(bundlePaths[0]);
    expect([...deletes].sort()).toEqual([...bundlePaths].sort());
    expect(stored.size).toBe(0);
  });

  it('treats missing objects (404) as deleted', async () => {
    const k8s = client();
    await k8s.apply([bundle[0], bundle[2]]);
    requests.length = 0;

    await expect(k8s.delete(bundle)).resolves.toBeUndefined();

    expect(writes('DELETE')).toHaveLength(bundle.length);
    expect(stored.size).toBe(0);
  });

  it('stops at other errors', async () => {
    server.use(
      http.delete(
        `${SERVER}/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/:name`,
        () => status(500, 'InternalError', 'etcdserver: request timed out'),
      ),
    );
    const err = await client()
      .delete(bundle)
      .catch(e => e);
    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.message).toContain(`Role ${NS}/${NS}-read-only`);
    expect(err.message).toContain('etcdserver: request timed out');
    expect(err.cause).toBeInstanceOf(Error);
    // Every namespaced object was tried; the Namespace was kept.
    expect(writes('DELETE')).toHaveLength(bundle.length - 1);
  });
});

describe('namespaceExists', () => {
  it('is true for an existing namespace', async () => {
    const k8s = client();
    await k8s.apply([bundle[0]]);
    await expect(k8s.namespaceExists(NS)).resolves.toBe(true);
  });

  it('is false on 404', async () => {
    await expect(client().namespaceExists('nope')).resolves.toBe(false);
    expect(requests.map(r => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/namespaces/nope',
    ]);
  });

  it('throws other errors', async () => {
    server.use(
      http.get(`${SERVER}/api/v1/namespaces/:name`, () =>
        status(401, 'Unauthorized', 'Unauthorized'),
      ),
    );
    const err = await client()
      .namespaceExists(NS)
      .catch(e => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(err.message).toContain(`Namespace ${NS}`);
  });
});

describe('findIngressesClaimingHost', () => {
  const ingress = (namespace: string, name: string, spec: object) => ({
    metadata: { namespace, name },
    spec,
  });

  it('finds Ingresses of any namespace by rule host, TLS host or wildcard, page by page', async () => {
    const pages: Record<string, any> = {
      '': {
        items: [
          ingress('portal', 'portal', { rules: [{ host: 'portal.apps.example.com' }] }),
          ingress('shop', 'shop', { rules: [{ host: 'Payments-API.apps.example.com' }] }),
        ],
        metadata: { continue: 'page-2' },
      },
      'page-2': {
        items: [
          ingress('edge', 'tls-only', { tls: [{ hosts: ['payments-api.apps.example.com'] }] }),
          ingress('edge', 'wildcard', { rules: [{ host: '*.apps.example.com' }] }),
          ingress('edge', 'deeper', { rules: [{ host: '*.example.com' }] }),
          ingress('edge', 'no-host', { rules: [{}] }),
        ],
        metadata: {},
      },
    };
    server.use(
      http.get(`${SERVER}/apis/networking.k8s.io/v1/ingresses`, ({ request }) =>
        HttpResponse.json({
          kind: 'IngressList',
          apiVersion: 'networking.k8s.io/v1',
          ...pages[new URL(request.url).searchParams.get('continue') ?? ''],
        }),
      ),
    );
    await expect(
      client().findIngressesClaimingHost('payments-api.apps.example.com'),
    ).resolves.toEqual([
      { namespace: 'shop', name: 'shop' },
      { namespace: 'edge', name: 'tls-only' },
      { namespace: 'edge', name: 'wildcard' },
    ]);
    expect(
      requests.filter(r => r.path.endsWith('/ingresses')).map(r => r.query.get('continue')),
    ).toEqual([null, 'page-2']);
  });

  it('maps a refusal to NotAllowedError naming the host', async () => {
    server.use(
      http.get(`${SERVER}/apis/networking.k8s.io/v1/ingresses`, () =>
        status(403, 'Forbidden', 'ingresses.networking.k8s.io is forbidden'),
      ),
    );
    const err = await client()
      .findIngressesClaimingHost('x.apps.example.com')
      .catch(e => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect(err.message).toContain('x.apps.example.com');
  });
});

describe('errors', () => {
  it.each([
    [400, 'BadRequest', InputError],
    [401, 'Unauthorized', NotAllowedError],
    [403, 'Forbidden', NotAllowedError],
    [404, 'NotFound', NotFoundError],
    [409, 'Conflict', ConflictError],
    [422, 'Invalid', InputError],
    [500, 'InternalError', ForwardedError],
    [503, 'ServiceUnavailable', ForwardedError],
  ])('maps HTTP %i (%s) on apply to %p', async (code, reason, type) => {
    server.use(
      http.patch(`${SERVER}/*`, () =>
        status(code, reason, `the reason is ${reason}`),
      ),
    );
    const err = await client()
      .apply([bundle[1]])
      .catch(e => e);
    expect(err).toBeInstanceOf(type);
    expect(err.message).toContain(`ServiceAccount ${NS}/${NS}`);
    expect(err.message).toContain(`HTTP ${code}`);
    expect(err.message).toContain(`the reason is ${reason}`);
  });

  it('maps network errors to ForwardedError keeping the cause', async () => {
    server.use(
      http.get(`${SERVER}/api/v1/namespaces/:name`, () => HttpResponse.error()),
    );
    const err = await client()
      .namespaceExists(NS)
      .catch(e => e);
    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.message).toContain(`Namespace ${NS}`);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('times out a hanging request', async () => {
    server.use(
      http.get(`${SERVER}/api/v1/namespaces/:name`, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const err = await client({ requestTimeoutMs: 50 })
      .namespaceExists(NS)
      .catch(e => e);
    expect(err).toBeInstanceOf(ForwardedError);
    expect(err.message).toMatch(/timeout|abort/i);
  });
});

describe('authentication', () => {
  it('sends the token as a bearer token on every request, discovery included', async () => {
    const k8s = client();
    await k8s.apply(bundle);
    await k8s.namespaceExists(NS);
    await k8s.delete(bundle);
    expect(requests.length).toBeGreaterThan(bundle.length * 2);
    expect(new Set(requests.map(r => r.authorization))).toEqual(
      new Set([`Bearer ${TOKEN}`]),
    );
  });

  it('never puts the token in error messages', async () => {
    server.use(
      http.patch(`${SERVER}/*`, ({ request }) =>
        status(
          500,
          'InternalError',
          `bad credentials ${request.headers.get('authorization')}`,
        ),
      ),
      http.get(`${SERVER}/api/v1/namespaces/:name`, ({ request }) =>
        status(
          403,
          'Forbidden',
          `token ${request.headers.get('authorization')} is not allowed`,
        ),
      ),
    );
    const k8s = client();
    const errors = [
      await k8s.apply([bundle[0]]).catch(e => e),
      await k8s.namespaceExists(NS).catch(e => e),
    ];
    expect(errors[0]).toBeInstanceOf(ForwardedError);
    expect(errors[1]).toBeInstanceOf(NotAllowedError);
    for (const err of errors) {
      expect(err.message).toContain('***');
      expect(err.message).not.toContain(TOKEN);
      expect(
        JSON.stringify(serializeError(err, { includeStack: true })),
      ).not.toContain(TOKEN);
    }
  });
});

describe('fromConfig', () => {
  afterEach(() => jest.restoreAllMocks());

  it('builds one cluster, user and context from goldenPath.kubernetes', async () => {
    const load = jest.spyOn(KubeConfig.prototype, 'loadFromOptions');
    const k8s = KubernetesClient.fromConfig(
      new ConfigReader({
        goldenPath: {
          kubernetes: {
            url: `${SERVER}/`,
            token: TOKEN,
            caData: 'Q0EgZGF0YQ==',
            skipTLSVerify: true,
          },
        },
      }),
      { fetch: viaGlobalFetch },
    );

    expect(load).toHaveBeenCalledWith({
      clusters: [
        {
          name: 'golden-path',
          server: SERVER,
          caData: 'Q0EgZGF0YQ==',
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'golden-path', token: TOKEN }],
      contexts: [
        { name: 'golden-path', cluster: 'golden-path', user: 'golden-path' },
      ],
      currentContext: 'golden-path',
    });
    await expect(k8s.namespaceExists(NS)).resolves.toBe(false);
    expect(requests.map(r => [r.path, r.authorization])).toEqual([
      [`/api/v1/namespaces/${NS}`, `Bearer ${TOKEN}`],
    ]);
  });

  it('defaults skipTLSVerify to false and requires url and token', () => {
    const load = jest.spyOn(KubeConfig.prototype, 'loadFromOptions');
    KubernetesClient.fromConfig(
      new ConfigReader({
        goldenPath: { kubernetes: { url: SERVER, token: TOKEN } },
      }),
    );
    expect(load.mock.calls[0][0].clusters[0]).toEqual({
      name: 'golden-path',
      server: SERVER,
      caData: undefined,
      skipTLSVerify: false,
    });
    expect(() =>
      KubernetesClient.fromConfig(
        new ConfigReader({ goldenPath: { kubernetes: { url: SERVER } } }),
      ),
    ).toThrow(/token/);
  });
});
