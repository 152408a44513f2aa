import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { GoldenPathPermissionPolicy } from './policy';
import { ALL_GROUP_MEMBERS, readRoles } from '@internal/plugin-golden-path-node';

/**
 * The portal's permission policy as a module of the permission plugin
 * (replaces the allow-all policy module). Refuses to start when
 * `goldenPath.permissions.roles` (roles.yaml) is missing or invalid.
 */
export const permissionModuleGoldenPathPolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'golden-path-policy',
  register(reg) {
    reg.registerInit({
      deps: {
        policy: policyExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ policy, config, logger }) {
        const roles = readRoles(config);
        logger.info(
          `Golden-path permission policy: platform admins are members of ${roles.platformAdmins.join(
            ', ',
          )}; developers are ${
            roles.developers === ALL_GROUP_MEMBERS
              ? 'all members of a catalog group'
              : `members of ${roles.developers.join(', ')}`
          }; everyone else is denied`,
        );
        policy.setPolicy(new GoldenPathPermissionPolicy({ roles, logger }));
      },
    });
  },
});
