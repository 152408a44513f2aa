import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { serviceDecommissionPermission } from '@internal/plugin-golden-path-common';
import { Roles } from '@internal/plugin-golden-path-node';
import { createDecommissionAuthorizer, LifecycleTarget } from './authorize';

const roles: Roles = {
  platformAdmins: ['group:default/platform-admins'],
  developers: 'all-group-members',
} as Roles;

const target = (over: Partial<LifecycleTarget> = {}): LifecycleTarget => ({
  name: 'payments-api',
  entityRef: 'component:default/payments-api',
  entityExists: true,
  owner: 'group:default/team-payments',
  ...over,
});

function authorizer(
  user: { ref: string; groups: string[] },
  decision: AuthorizeResult.ALLOW | AuthorizeResult.DENY = AuthorizeResult.DENY,
) {
  const permissions = mockServices.permissions.mock({
    authorize: jest.fn(async requests =>
      requests.map(() => ({ result: decision })),
    ) as any,
  });
  const userInfo = mockServices.userInfo.mock({
    getUserInfo: async () => ({
      userEntityRef: user.ref,
      ownershipEntityRefs: [user.ref, ...user.groups],
    }),
  });
  return {
    permissions,
    authorize: createDecommissionAuthorizer({ permissions, userInfo, roles }),
  };
}

const guest = {
  ref: 'user:default/guest',
  groups: ['group:default/team-payments'],
};
const bob = { ref: 'user:default/bob', groups: ['group:default/team-orders'] };
const ada = {
  ref: 'user:default/ada',
  groups: ['group:default/platform-admins'],
};

describe('the decommission authorizer', () => {
  it("asks the permission framework about the service's entity, with the user's credentials", async () => {
    const { authorize, permissions } = authorizer(guest, AuthorizeResult.ALLOW);
    const credentials = mockCredentials.user('user:default/guest');
    await expect(authorize(target(), credentials)).resolves.toBeUndefined();
    expect(permissions.authorize).toHaveBeenCalledWith(
      [
        {
          permission: serviceDecommissionPermission,
          resourceRef: 'component:default/payments-api',
        },
      ],
      { credentials },
    );
  });

  it('refuses when the policy denies, naming the user and the owners', async () => {
    const { authorize } = authorizer(bob, AuthorizeResult.DENY);
    const error = await authorize(
      target(),
      mockCredentials.user('user:default/bob'),
    ).catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toBe(
      'You (user:default/bob) may not decommission payments-api: only its owners (group:default/team-payments) and platform admins may. Nothing was changed.',
    );
  });

  it.each([
    ['a member of the owning group', guest, true],
    ['a platform admin', ada, true],
    ['a member of another team', bob, false],
  ])(
    'when the entity is gone, decides by the owner Create recorded: %s',
    async (_who, user, allowed) => {
      const { authorize, permissions } = authorizer(user, AuthorizeResult.DENY);
      const outcome = await authorize(
        target({ entityExists: false }),
        mockCredentials.user(user.ref),
      ).then(
        () => 'allowed',
        e => (e instanceof NotAllowedError ? 'refused' : e),
      );
      expect(outcome).toBe(allowed ? 'allowed' : 'refused');
      // There is no entity to ask the permission framework about.
      expect(permissions.authorize).not.toHaveBeenCalled();
    },
  );

  it('reads a bare owner name as a group of the default namespace', async () => {
    const { authorize } = authorizer(guest);
    await expect(
      authorize(
        target({ entityExists: false, owner: 'team-payments' }),
        mockCredentials.user(guest.ref),
      ),
    ).resolves.toBeUndefined();
  });

  it('refuses a service principal (only a signed-in user may decommission)', async () => {
    const { authorize } = authorizer(ada, AuthorizeResult.ALLOW);
    await expect(
      authorize(target(), mockCredentials.service('plugin:catalog')),
    ).rejects.toThrow('Only a signed-in user can decommission payments-api');
  });
});
