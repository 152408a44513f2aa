import { LoggerService } from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import {
  createScaffolderTaskConditionalDecision,
  scaffolderTaskConditions,
} from '@backstage/plugin-scaffolder-backend/alpha';
import { DECISIONS_BY_NAME } from './decisions';
import { isDeveloper, isPlatformAdmin, Roles } from '@internal/plugin-golden-path-node';

const ALLOW: PolicyDecision = { result: AuthorizeResult.ALLOW };
const DENY: PolicyDecision = { result: AuthorizeResult.DENY };

/**
 * The portal's permission policy, deny by default:
 *
 * - no user: DENY;
 * - platform admins (members of `roles.platformAdmins`): ALLOW everything,
 *   including permissions this policy does not know;
 * - developers (members of any catalog group, or of `roles.developers`):
 *   the decision in {@link DECISIONS};
 * - everyone else (signed in, in no group): DENY;
 * - a permission not in {@link DECISIONS}: DENY, and a warning naming it the
 *   first time it is seen.
 *
 * A user's groups are `ownershipEntityRefs`, which sign-in resolved from
 * the catalog; the policy itself makes no catalog calls.
 */
export class GoldenPathPermissionPolicy implements PermissionPolicy {
  private readonly roles: Roles;
  private readonly logger: LoggerService;
  private readonly warned = new Set<string>();

  constructor(options: { roles: Roles; logger: LoggerService }) {
    this.roles = options.roles;
    this.logger = options.logger;
  }

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const { permission } = request;
    const known = DECISIONS_BY_NAME.get(permission.name);
    if (!known) {
      this.warnOnce(
        permission.name,
        `Permission "${permission.name}" has no decision in the golden-path permission policy; it is denied to everyone but platform admins. Decide it in plugins/permission-backend-module-golden-path/src/decisions.ts.`,
      );
    }

    if (!user) return DENY;
    // Resolved at sign-in from the catalog: the user and their groups.
    const { userEntityRef, ownershipEntityRefs } = user.info;
    if (isPlatformAdmin(this.roles, ownershipEntityRefs)) return ALLOW;
    if (!known || !isDeveloper(this.roles, ownershipEntityRefs)) return DENY;

    switch (known.developer) {
      case 'allow':
        return ALLOW;
      case 'own-entity':
        if (isResourcePermission(permission, 'catalog-entity')) {
          return createCatalogConditionalDecision(
            permission,
            catalogConditions.isEntityOwner({ claims: ownershipEntityRefs }),
          );
        }
        break;
      case 'own-task':
        if (isResourcePermission(permission, 'scaffolder-task')) {
          return createScaffolderTaskConditionalDecision(
            permission,
            scaffolderTaskConditions.isTaskOwner({
              createdBy: [userEntityRef],
            }),
          );
        }
        break;
      default:
        return DENY;
    }
    // A known name with an unexpected shape (not the resource type the
    // condition applies to): refuse rather than guess.
    this.warnOnce(
      `${permission.name}#shape`,
      `Permission "${permission.name}" arrived as ${
        isResourcePermission(permission)
          ? `a "${permission.resourceType}" resource permission`
          : 'a basic permission'
      }, not the resource type its conditional decision needs; denied.`,
    );
    return DENY;
  }

  private warnOnce(key: string, message: string) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(message);
  }
}
