import {
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import permissionPlugin from '@backstage/plugin-permission-backend';
import request from 'supertest';
import permissionModule from './index';

/** What sign-in resolved from the catalog for each test user. */
const GROUPS: Record<string, string[]> = {
  'user:default/alice': ['group:default/platform-admins'],
  'user:default/ann': ['group:default/team-a'],
  'user:default/lone': [],
};

/** The user-info service as sign-in would fill it, without a catalog. */
const userInfoFactory = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(credentials: BackstageCredentials) {
      const ref = (credentials.principal as { userEntityRef: string })
        .userEntityRef;
      return {
        userEntityRef: ref,
        ownershipEntityRefs: [ref, ...(GROUPS[ref] ?? [])],
      };
    },
  }),
});

const ROLES = {
  platformAdmins: ['group:default/platform-admins'],
  developers: 'all-group-members',
};

async function startPermissionBackend(
  roles: unknown,
  logger = mockServices.logger.mock(),
  extraConfig: Record<string, unknown> = {},
) {
  return startTestBackend({
    features: [
      permissionPlugin,
      permissionModule,
      userInfoFactory,
      logger.factory,
      mockServices.rootConfig.factory({
        data: {
          ...extraConfig,
          permission: { enabled: true },
          ...(roles === undefined
            ? {}
            : { goldenPath: { permissions: { roles } } }),
        },
      }),
    ],
  });
}

const unknownPermission = {
  type: 'basic',
  name: 'kubernetes.proxy',
  attributes: {},
};
const entityRead = {
  type: 'resource',
  name: 'catalog.entity.read',
  attributes: { action: 'read' },
  resourceType: 'catalog-entity',
};
const entityDelete = {
  type: 'resource',
  name: 'catalog.entity.delete',
  attributes: { action: 'delete' },
  resourceType: 'catalog-entity',
};
const locationCreate = {
  type: 'basic',
  name: 'catalog.location.create',
  attributes: { action: 'create' },
};

describe('permissionModuleGoldenPathPolicy in a backend', () => {
  let server: Awaited<ReturnType<typeof startPermissionBackend>>['server'];
  let stop: (() => Promise<void>) | undefined;
  const logger = mockServices.logger.mock();

  beforeAll(async () => {
    const backend = await startPermissionBackend(ROLES, logger);
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(() => stop?.());

  /** POST /api/permission/authorize as the permission client does. */
  async function authorize(
    authorization: string,
    items: Array<{ permission: object; resourceRef?: string }>,
  ) {
    const res = await request(server)
      .post('/api/permission/authorize')
      .set('authorization', authorization)
      .send({ items: items.map((item, i) => ({ id: String(i), ...item })) });
    expect(res.status).toBe(200);
    return (res.body.items as Array<{ result: string }>).map(
      ({ id: _id, ...decision }: any) => decision,
    );
  }

  it('a developer is allowed catalog.entity.read and denied an unknown permission', async () => {
    await expect(
      authorize(mockCredentials.user.header('user:default/ann'), [
        { permission: entityRead, resourceRef: 'component:default/demo' },
        { permission: unknownPermission },
        { permission: locationCreate },
      ]),
    ).resolves.toEqual([
      { result: 'ALLOW' },
      { result: 'DENY' },
      { result: 'DENY' },
    ]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('"kubernetes.proxy"'),
    );
  });

  it('a platform admin is allowed everything, the unknown permission too', async () => {
    await expect(
      authorize(mockCredentials.user.header('user:default/alice'), [
        { permission: entityRead, resourceRef: 'component:default/demo' },
        { permission: unknownPermission },
        { permission: locationCreate },
      ]),
    ).resolves.toEqual([
      { result: 'ALLOW' },
      { result: 'ALLOW' },
      { result: 'ALLOW' },
    ]);
  });

  it('a user in no group is denied, catalog.entity.read too', async () => {
    await expect(
      authorize(mockCredentials.user.header('user:default/lone'), [
        { permission: entityRead, resourceRef: 'component:default/demo' },
        { permission: unknownPermission },
      ]),
    ).resolves.toEqual([{ result: 'DENY' }, { result: 'DENY' }]);
  });

  it('a request without a user does not get past the backend auth policy', async () => {
    const res = await request(server)
      .post('/api/permission/authorize')
      .set('authorization', mockCredentials.none.header())
      .send({ items: [{ id: '1', permission: unknownPermission }] });
    expect(res.status).toBe(401);
  });

  it('a plugin asking on behalf of a developer gets the ownership condition to apply', async () => {
    const token = mockCredentials.user.token('user:default/ann', {
      actor: { subject: 'plugin:catalog' },
    });
    await expect(
      authorize(`Bearer ${token}`, [{ permission: entityDelete }]),
    ).resolves.toEqual([
      {
        result: 'CONDITIONAL',
        pluginId: 'catalog',
        resourceType: 'catalog-entity',
        conditions: {
          rule: 'IS_ENTITY_OWNER',
          resourceType: 'catalog-entity',
          params: { claims: ['user:default/ann', 'group:default/team-a'] },
        },
      },
    ]);
  });

  it('warned about the unknown permission once, however often it was asked', () => {
    const warnings = logger.warn.mock.calls.filter(([message]) =>
      String(message).includes('"kubernetes.proxy"'),
    );
    expect(warnings).toHaveLength(1);
  });
});

describe('permissionModuleGoldenPathPolicy with the default auth policy disabled', () => {
  it('denies a request without a user', async () => {
    const backend = await startPermissionBackend(ROLES, undefined, {
      backend: { auth: { dangerouslyDisableDefaultAuthPolicy: true } },
    });
    try {
      const res = await request(backend.server)
        .post('/api/permission/authorize')
        .set('authorization', mockCredentials.none.header())
        .send({
          items: [
            { id: '1', permission: unknownPermission },
            { id: '2', permission: locationCreate },
            {
              id: '3',
              permission: entityRead,
              resourceRef: 'component:default/demo',
            },
          ],
        });
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([
        { id: '1', result: 'DENY' },
        { id: '2', result: 'DENY' },
        { id: '3', result: 'DENY' },
      ]);
    } finally {
      await backend.stop();
    }
  });
});

describe('permissionModuleGoldenPathPolicy without valid roles', () => {
  it('(control) the permission plugin alone refuses to start: the decisions above come from this module', async () => {
    await expect(
      startTestBackend({
        features: [
          permissionPlugin,
          mockServices.rootConfig.factory({
            data: { permission: { enabled: true } },
          }),
        ],
      }),
    ).rejects.toThrow(/No policy module installed/);
  });

  it('refuses to start without roles, naming the key', async () => {
    await expect(startPermissionBackend(undefined)).rejects.toThrow(
      /goldenPath\.permissions\.roles is missing/,
    );
  });

  it('refuses to start with invalid roles, naming the key', async () => {
    await expect(
      startPermissionBackend({
        platformAdmins: ['platform-admins'],
        developers: 'all-group-members',
      }),
    ).rejects.toThrow(
      /goldenPath\.permissions\.roles\.platformAdmins\[0\] "platform-admins" is not a group ref/,
    );
  });
});
