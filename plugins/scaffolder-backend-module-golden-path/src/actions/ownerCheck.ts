import {
  BackstageCredentials,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { CatalogApi, Roles, isPlatformAdmin } from '@internal/plugin-golden-path-node';

/** Checks, on the server, that the user may make a service owned by `owner`. */
export type OwnerCheck = (
  owner: string,
  credentials: BackstageCredentials,
) => Promise<void>;

/**
 * The owner of a new service must exist in the catalog (a group, or a user
 * for an experiment), and the user who starts the Create must be a member
 * of it — or that user themself; platform admins may choose any owner. The
 * form only offers the catalog's entities, but the scaffolder's API takes any
 * value, so this is checked here, before anything is created.
 */
export function createOwnerCheck(deps: {
  catalog: Pick<CatalogApi, 'entityExists'>;
  userInfo: UserInfoService;
  roles: Roles;
}): OwnerCheck {
  return async (owner, credentials) => {
    let ref: string;
    try {
      ref = stringifyEntityRef(parseEntityRef(owner, { defaultKind: 'group', defaultNamespace: 'default' }));
    } catch {
      throw new InputError(
        `owner "${owner}" is not an entity ref; pick your team, e.g. group:default/team-a`,
      );
    }
    const kind = ref.slice(0, ref.indexOf(':'));
    if (kind !== 'group' && kind !== 'user') {
      throw new InputError(`owner ${ref} must be a group (your team) or a user, not a ${kind}`);
    }
    if ((credentials.principal as { type?: string }).type !== 'user') {
      throw new NotAllowedError('Only a signed-in user can create a service');
    }
    if (!(await deps.catalog.entityExists(ref))) {
      throw new InputError(
        `owner ${ref} is not in the catalog; pick your team from the catalog`,
      );
    }
    const { userEntityRef, ownershipEntityRefs } =
      await deps.userInfo.getUserInfo(credentials);
    if (isPlatformAdmin(deps.roles, ownershipEntityRefs)) return;
    if (ref === userEntityRef || ownershipEntityRefs.includes(ref)) return;
    const teams = ownershipEntityRefs.filter(r => r.startsWith('group:'));
    throw new NotAllowedError(
      `You (${userEntityRef}) are not a member of ${ref}, so you cannot create a service it owns. ${
        teams.length
          ? `Choose one of your teams: ${teams.join(', ')}.`
          : 'You are in no team in the catalog; ask a platform admin to add you to one.'
      }`,
    );
  };
}
