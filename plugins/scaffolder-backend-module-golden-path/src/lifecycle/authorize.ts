import {
  BackstageCredentials,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { serviceDecommissionPermission } from '@internal/plugin-golden-path-common';
import { Roles, isPlatformAdmin } from '@internal/plugin-golden-path-node';

/** The service a lifecycle action is about, as far as authorization needs it. */
export interface LifecycleTarget {
  name: string;
  /** `component:default/<name>`. */
  entityRef: string;
  /** Whether the catalog still has the entity. */
  entityExists: boolean;
  /** The owner Create recorded (`group:default/team-a`), when the journal knows it. */
  owner?: string;
}

/** Throws NotAllowedError unless the user may decommission `target`. */
export type DecommissionAuthorizer = (
  target: LifecycleTarget,
  credentials: BackstageCredentials,
) => Promise<void>;

/**
 * Decides through Backstage's permission framework, with the initiator's
 * credentials, exactly as the entity page's button does:
 * `golden-path.service.decommission` on the service's catalog entity (the
 * portal's policy grants it to the entity's owners and to platform admins).
 *
 * When the entity is already gone (unregistered by hand, or removed by an
 * earlier decommission) there is no resource to ask about; then the same
 * rule is applied to the owner Create recorded: a member of that group, the
 * user themself, or a platform admin.
 */
export function createDecommissionAuthorizer(deps: {
  permissions: PermissionsService;
  userInfo: UserInfoService;
  roles: Roles;
}): DecommissionAuthorizer {
  return async (target, credentials) => {
    if ((credentials.principal as { type?: string }).type !== 'user') {
      throw new NotAllowedError(
        `Only a signed-in user can decommission ${target.name}`,
      );
    }
    const { userEntityRef, ownershipEntityRefs } =
      await deps.userInfo.getUserInfo(credentials);
    const refusal = new NotAllowedError(
      `You (${userEntityRef}) may not decommission ${
        target.name
      }: only its owners${
        target.owner ? ` (${target.owner})` : ''
      } and platform admins may. Nothing was changed.`,
    );
    if (target.entityExists) {
      const [decision] = await deps.permissions.authorize(
        [
          {
            permission: serviceDecommissionPermission,
            resourceRef: target.entityRef,
          },
        ],
        { credentials },
      );
      if (decision.result !== AuthorizeResult.ALLOW) throw refusal;
      return;
    }
    if (isPlatformAdmin(deps.roles, ownershipEntityRefs)) return;
    const owner = normalisedOwner(target.owner);
    const mine = [userEntityRef, ...ownershipEntityRefs].map(r =>
      r.toLocaleLowerCase('en-US'),
    );
    if (owner && mine.includes(owner)) return;
    throw refusal;
  };
}

/** `team-a` and `group:default/team-a` alike, lower case; undefined if unreadable. */
function normalisedOwner(owner: string | undefined): string | undefined {
  if (!owner) return undefined;
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: 'default',
      }),
    ).toLocaleLowerCase('en-US');
  } catch {
    return undefined;
  }
}
