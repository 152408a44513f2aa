import {
  BackstageCredentials,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { serviceUpgradePermission } from '@internal/plugin-golden-path-common';
import { Roles, isPlatformAdmin } from '@internal/plugin-golden-path-node';
import { UpgradeTarget } from './ServiceUpgrader';

/**
 * Who may upgrade: the permission policy decides per service
 * (`golden-path.service.upgrade`: the service's owners and platform admins);
 * upgrading every service at once is for platform admins only.
 */
export type UpgradeAccess = (
  credentials: BackstageCredentials,
  targets: UpgradeTarget[],
  scope: 'one' | 'all',
) => Promise<void>;

/** {@link UpgradeAccess} through Backstage's permissions service, with the initiator's credentials. */
export function createUpgradeAccess(deps: {
  permissions: Pick<PermissionsService, 'authorize'>;
  userInfo: UserInfoService;
  roles: Roles;
}): UpgradeAccess {
  return async (credentials, targets, scope) => {
    if ((credentials.principal as { type?: string }).type !== 'user') {
      throw new NotAllowedError('Only a signed-in user can upgrade services');
    }
    if (scope === 'all') {
      const { userEntityRef, ownershipEntityRefs } =
        await deps.userInfo.getUserInfo(credentials);
      if (!isPlatformAdmin(deps.roles, ownershipEntityRefs)) {
        throw new NotAllowedError(
          `Upgrading every service is for platform admins; you (${userEntityRef}) may upgrade the services your teams own one at a time`,
        );
      }
    }
    if (!targets.length) return;
    const decisions = await deps.permissions.authorize(
      targets.map(t => ({
        permission: serviceUpgradePermission,
        resourceRef: t.entityRef,
      })),
      { credentials },
    );
    const denied = targets.filter(
      (_t, i) => decisions[i]?.result !== AuthorizeResult.ALLOW,
    );
    if (denied.length) {
      throw new NotAllowedError(
        `You may not upgrade ${denied
          .map(t => t.entityRef)
          .join(', ')}: only its owners and platform admins may`,
      );
    }
  };
}
