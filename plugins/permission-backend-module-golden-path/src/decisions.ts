import {
  catalogEntityCreatePermission,
  catalogEntityDeletePermission,
  catalogEntityReadPermission,
  catalogEntityRefreshPermission,
  catalogEntityValidatePermission,
  catalogIngestionManagePermission,
  catalogIngestionReadPermission,
  catalogLocationAnalyzePermission,
  catalogLocationCreatePermission,
  catalogLocationDeletePermission,
  catalogLocationReadPermission,
} from '@backstage/plugin-catalog-common/alpha';
import { Permission } from '@backstage/plugin-permission-common';
import {
  actionExecutePermission,
  taskCancelPermission,
  taskCreatePermission,
  taskReadPermission,
  templateDryRunPermission,
  templateManagementPermission,
  templateParameterReadPermission,
  templateStepReadPermission,
} from '@backstage/plugin-scaffolder-common/alpha';
import {
  runsReadPermission,
  serviceDecommissionPermission,
  serviceUpgradePermission,
} from '@internal/plugin-golden-path-common';

/**
 * What a developer gets for a permission:
 *
 * - `allow` / `deny`: a definitive decision;
 * - `own-entity`: conditional, only catalog entities they own
 *   (the catalog's `isEntityOwner` with their ownership refs);
 * - `own-task`: conditional, only scaffolder tasks they started
 *   (the scaffolder's `isTaskOwner` with their user ref).
 *
 * Platform admins get every permission; users in no catalog group and
 * requests without a user get none.
 */
export type DeveloperDecision = 'allow' | 'deny' | 'own-entity' | 'own-task';

/** The decision for one permission and the reason (shown in the README). */
export interface PermissionDecision {
  permission: Permission;
  developer: DeveloperDecision;
  why: string;
}

/**
 * Every permission this policy knows, one explicit decision each. A
 * permission not listed here (a new one after a Backstage upgrade, or a new
 * plugin's) is denied to everyone but platform admins and logged once.
 *
 * Plugins in packages/backend that declare no permissions of their own: app,
 * proxy, auth, search (it checks each document type's visibility permission,
 * i.e. `catalog.entity.read` for the catalog collator), user-settings and
 * signals (both scoped to the signed-in user by the plugin itself).
 */
export const DECISIONS: readonly PermissionDecision[] = [
  // Catalog
  {
    permission: catalogEntityReadPermission,
    developer: 'allow',
    why: 'browse the catalog; search results use it too',
  },
  {
    permission: catalogLocationReadPermission,
    developer: 'allow',
    why: "an entity's location (where its catalog-info.yaml lives)",
  },
  {
    permission: catalogEntityRefreshPermission,
    developer: 'own-entity',
    why: 'refresh entities their groups own',
  },
  {
    permission: catalogEntityDeletePermission,
    developer: 'own-entity',
    why: 'unregister entities their groups own',
  },
  {
    permission: catalogEntityCreatePermission,
    developer: 'deny',
    why: 'registering entities is for admins',
  },
  {
    permission: catalogLocationCreatePermission,
    developer: 'deny',
    why: 'registering locations is for admins (this keeps templates admin-registered)',
  },
  {
    permission: catalogLocationDeletePermission,
    developer: 'deny',
    why: 'admins only',
  },
  {
    permission: catalogLocationAnalyzePermission,
    developer: 'deny',
    why: 'part of registering a location: admins only',
  },
  {
    permission: catalogEntityValidatePermission,
    developer: 'deny',
    why: 'admins only',
  },
  {
    permission: catalogIngestionReadPermission,
    developer: 'deny',
    why: 'ingestion internals: admins only',
  },
  {
    permission: catalogIngestionManagePermission,
    developer: 'deny',
    why: 'ingestion internals: admins only',
  },

  // Scaffolder
  {
    permission: taskCreatePermission,
    developer: 'allow',
    why: 'run the golden-path templates',
  },
  {
    permission: taskReadPermission,
    developer: 'own-task',
    why: 'follow the tasks they started',
  },
  {
    permission: taskCancelPermission,
    developer: 'own-task',
    why: 'cancel the tasks they started',
  },
  {
    permission: templateParameterReadPermission,
    developer: 'allow',
    why: "a template's form (templates are visible to developers)",
  },
  {
    permission: templateStepReadPermission,
    developer: 'allow',
    why: "a template's steps (templates are visible to developers)",
  },
  {
    permission: actionExecutePermission,
    developer: 'allow',
    why: 'the actions of a template they run; only admins register templates',
  },
  {
    permission: templateDryRunPermission,
    developer: 'deny',
    why: 'template editor: admins only',
  },
  {
    permission: templateManagementPermission,
    developer: 'deny',
    why: 'template editor: admins only',
  },

  // Golden path
  {
    permission: serviceDecommissionPermission,
    developer: 'own-entity',
    why: 'decommission services their groups own',
  },
  {
    permission: serviceUpgradePermission,
    developer: 'own-entity',
    why: 'upgrade services their groups own',
  },
  {
    permission: runsReadPermission,
    developer: 'deny',
    why: "the platform's runs (leftovers of failed rollbacks): admins only",
  },
];

/** {@link DECISIONS} by permission name. */
export const DECISIONS_BY_NAME: ReadonlyMap<string, PermissionDecision> =
  new Map(DECISIONS.map(d => [d.permission.name, d]));
