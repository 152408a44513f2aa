import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Permissions of the golden path's own lifecycle actions, on the service's
 * catalog entity. The portal's permission policy grants them to the
 * entity's owners and to platform admins.
 */
export const serviceDecommissionPermission = createPermission({
  name: 'golden-path.service.decommission',
  attributes: { action: 'delete' },
  resourceType: 'catalog-entity',
});

/** Re-rendering a service's GitOps manifests and proposing them as a merge request. */
export const serviceUpgradePermission = createPermission({
  name: 'golden-path.service.upgrade',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/** Listing the platform's runs (what failed rollbacks left to remove by hand). */
export const runsReadPermission = createPermission({
  name: 'golden-path.runs.read',
  attributes: { action: 'read' },
});

/** Every permission the golden path defines. */
export const goldenPathPermissions = [
  serviceDecommissionPermission,
  serviceUpgradePermission,
  runsReadPermission,
];
