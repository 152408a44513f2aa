import { mockCredentials } from '@backstage/backend-test-utils';
import { createOwnerCheck } from './ownerCheck';

const userInfo = (refs: Record<string, string[]>) => ({
  getUserInfo: async (credentials: any) => {
    const userEntityRef = credentials.principal.userEntityRef;
    return { userEntityRef, ownershipEntityRefs: [userEntityRef, ...(refs[userEntityRef] ?? [])] };
  },
});

const check = createOwnerCheck({
  catalog: {
    entityExists: async ref =>
      ['group:default/team-a', 'group:default/team-b', 'user:default/alice'].includes(ref),
  },
  userInfo: userInfo({
    'user:default/alice': ['group:default/team-a'],
    'user:default/ada': ['group:default/platform-admins'],
  }),
  roles: { platformAdmins: ['group:default/platform-admins'], developers: 'all-group-members' },
});

describe('the owner check', () => {
  it.each([
    ['group:default/team-a', 'user:default/alice'],
    ['team-a', 'user:default/alice'],
    ['user:default/alice', 'user:default/alice'],
    ['group:default/team-b', 'user:default/ada'],
  ])('lets %s be the owner when %s creates the service', async (owner, user) => {
    await expect(check(owner, mockCredentials.user(user))).resolves.toBeUndefined();
  });

  it("refuses a team the user is not in, naming the user's teams", async () => {
    await expect(
      check('group:default/team-b', mockCredentials.user('user:default/alice')),
    ).rejects.toThrow(
      'You (user:default/alice) are not a member of group:default/team-b, so you cannot create a service it owns. Choose one of your teams: group:default/team-a.',
    );
  });

  it.each([
    ['group:default/nope', /is not in the catalog/],
    ['component:default/x', /must be a group \(your team\) or a user/],
    ['', /is not an entity ref/],
  ])('refuses owner %p', async (owner, message) => {
    await expect(check(owner, mockCredentials.user('user:default/ada'))).rejects.toThrow(message);
  });

  it('refuses a task no user started', async () => {
    await expect(check('group:default/team-a', mockCredentials.service())).rejects.toThrow(
      'Only a signed-in user can create a service',
    );
  });

});
