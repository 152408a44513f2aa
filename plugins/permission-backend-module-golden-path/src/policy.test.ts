import fs from 'node:fs';
import path from 'node:path';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
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
  catalogPermissions,
} from '@backstage/plugin-catalog-common/alpha';
import {
  createPermission,
  Permission,
} from '@backstage/plugin-permission-common';
import { PolicyQueryUser } from '@backstage/plugin-permission-node';
import {
  actionExecutePermission,
  scaffolderPermissions,
  taskCancelPermission,
  taskCreatePermission,
  taskReadPermission,
  templateDryRunPermission,
  templateManagementPermission,
  templateParameterReadPermission,
  templateStepReadPermission,
} from '@backstage/plugin-scaffolder-common/alpha';
import {
  goldenPathPermissions,
  runsReadPermission,
  serviceDecommissionPermission,
  serviceUpgradePermission,
} from '@internal/plugin-golden-path-common';
import { ConfigReader } from '@backstage/config';
import { DECISIONS } from './decisions';
import { GoldenPathPermissionPolicy } from './policy';
import { readRoles } from '@internal/plugin-golden-path-node';

function user(userEntityRef: string, groups: string[]): PolicyQueryUser {
  return {
    credentials: mockCredentials.user(userEntityRef),
    info: { userEntityRef, ownershipEntityRefs: [userEntityRef, ...groups] },
  };
}

const USERS = {
  admin: user('user:default/alice', ['group:default/platform-admins']),
  devA: user('user:default/ann', ['group:default/team-a']),
  devB: user('user:default/bob', ['group:default/team-b', 'group:default/ops']),
  loner: user('user:default/lone', []),
  nobody: undefined,
};
type Who = keyof typeof USERS;

// Expected decisions, written out literally (not built with the code under test).
const ALLOW = { result: 'ALLOW' };
const DENY = { result: 'DENY' };
const ownEntity = (u: PolicyQueryUser) => ({
  result: 'CONDITIONAL',
  pluginId: 'catalog',
  resourceType: 'catalog-entity',
  conditions: {
    rule: 'IS_ENTITY_OWNER',
    resourceType: 'catalog-entity',
    params: { claims: u.info.ownershipEntityRefs },
  },
});
const ownTask = (u: PolicyQueryUser) => ({
  result: 'CONDITIONAL',
  pluginId: 'scaffolder',
  resourceType: 'scaffolder-task',
  conditions: {
    rule: 'IS_TASK_OWNER',
    resourceType: 'scaffolder-task',
    params: { createdBy: [u.info.userEntityRef] },
  },
});

type ForDeveloper = 'ALLOW' | 'DENY' | 'own-entity' | 'own-task';
/** What a developer gets; admins get ALLOW, no-group users and no user DENY. */
const TABLE: Array<[Permission, ForDeveloper]> = [
  [catalogEntityReadPermission, 'ALLOW'],
  [catalogLocationReadPermission, 'ALLOW'],
  [catalogEntityRefreshPermission, 'own-entity'],
  [catalogEntityDeletePermission, 'own-entity'],
  [catalogEntityCreatePermission, 'DENY'],
  [catalogLocationCreatePermission, 'DENY'],
  [catalogLocationDeletePermission, 'DENY'],
  [catalogLocationAnalyzePermission, 'DENY'],
  [catalogEntityValidatePermission, 'DENY'],
  [catalogIngestionReadPermission, 'DENY'],
  [catalogIngestionManagePermission, 'DENY'],
  [taskCreatePermission, 'ALLOW'],
  [taskReadPermission, 'own-task'],
  [taskCancelPermission, 'own-task'],
  [templateParameterReadPermission, 'ALLOW'],
  [templateStepReadPermission, 'ALLOW'],
  [actionExecutePermission, 'ALLOW'],
  [templateDryRunPermission, 'DENY'],
  [templateManagementPermission, 'DENY'],
  [serviceDecommissionPermission, 'own-entity'],
  [serviceUpgradePermission, 'own-entity'],
  [runsReadPermission, 'DENY'],
];

function expected(forDeveloper: ForDeveloper, u: PolicyQueryUser) {
  switch (forDeveloper) {
    case 'ALLOW':
      return ALLOW;
    case 'DENY':
      return DENY;
    case 'own-entity':
      return ownEntity(u);
    case 'own-task':
      return ownTask(u);
    default:
      throw new Error(forDeveloper);
  }
}

function policyWith(roles: unknown) {
  const logger = mockServices.logger.mock();
  const policy = new GoldenPathPermissionPolicy({
    roles: readRoles(
      new ConfigReader({ goldenPath: { permissions: { roles } } } as any),
    ),
    logger,
  });
  return { policy, logger };
}

const ROLES = {
  platformAdmins: ['group:default/platform-admins'],
  developers: 'all-group-members',
};

describe('GoldenPathPermissionPolicy decisions (developers: all-group-members)', () => {
  const cases = TABLE.flatMap(([permission, forDeveloper]) =>
    (Object.keys(USERS) as Who[]).map(who => {
      const u = USERS[who];
      let want: object;
      if (who === 'admin') want = ALLOW;
      else if (who === 'devA' || who === 'devB')
        want = expected(forDeveloper, u!);
      else want = DENY;
      return [permission.name, who, permission, u, want] as const;
    }),
  );

  it.each(cases)('%s for %s', async (_name, _who, permission, u, want) => {
    const { policy, logger } = policyWith(ROLES);
    await expect(policy.handle({ permission }, u)).resolves.toEqual(want);
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('the conditions carry the requesting user, not another one', async () => {
    const { policy } = policyWith(ROLES);
    const a = await policy.handle(
      { permission: catalogEntityDeletePermission },
      USERS.devA,
    );
    const b = await policy.handle(
      { permission: catalogEntityDeletePermission },
      USERS.devB,
    );
    expect(JSON.stringify(a)).toContain('group:default/team-a');
    expect(JSON.stringify(a)).not.toContain('team-b');
    expect(JSON.stringify(b)).toContain('group:default/team-b');
    const task = await policy.handle(
      { permission: taskReadPermission },
      USERS.devB,
    );
    expect(task).toMatchObject({
      conditions: { params: { createdBy: ['user:default/bob'] } },
    });
  });
});

describe('GoldenPathPermissionPolicy decisions (developers: a list of groups)', () => {
  const roles = { ...ROLES, developers: ['group:default/team-a'] };

  it.each(TABLE.map(([p, d]) => [p.name, p, d] as const))(
    '%s: team A as a developer, team B denied, admin allowed',
    async (_name, permission, forDeveloper) => {
      const { policy } = policyWith(roles);
      await expect(policy.handle({ permission }, USERS.devA)).resolves.toEqual(
        expected(forDeveloper, USERS.devA),
      );
      await expect(policy.handle({ permission }, USERS.devB)).resolves.toEqual(
        DENY,
      );
      await expect(policy.handle({ permission }, USERS.admin)).resolves.toEqual(
        ALLOW,
      );
    },
  );
});

describe('unknown permissions', () => {
  const kubernetesProxy = createPermission({
    name: 'kubernetes.proxy',
    attributes: {},
  });
  const todoRead = createPermission({
    name: 'todo.item.read',
    attributes: { action: 'read' },
    resourceType: 'todo-item',
  });

  it('are denied to developers and everyone else, allowed for admins, and warned about once per name', async () => {
    const { policy, logger } = policyWith(ROLES);
    for (let round = 0; round < 3; round++) {
      await expect(
        policy.handle({ permission: kubernetesProxy }, USERS.devA),
      ).resolves.toEqual(DENY);
      await expect(
        policy.handle({ permission: kubernetesProxy }, USERS.devB),
      ).resolves.toEqual(DENY);
      await expect(
        policy.handle({ permission: kubernetesProxy }, USERS.loner),
      ).resolves.toEqual(DENY);
      await expect(
        policy.handle({ permission: kubernetesProxy }, undefined),
      ).resolves.toEqual(DENY);
      await expect(
        policy.handle({ permission: kubernetesProxy }, USERS.admin),
      ).resolves.toEqual(ALLOW);
    }
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('"kubernetes.proxy"'),
    );

    await expect(
      policy.handle({ permission: todoRead }, USERS.devA),
    ).resolves.toEqual(DENY);
    await expect(
      policy.handle({ permission: todoRead }, USERS.admin),
    ).resolves.toEqual(ALLOW);
    await expect(
      policy.handle({ permission: kubernetesProxy }, USERS.devA),
    ).resolves.toEqual(DENY);
    expect(logger.warn).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenLastCalledWith(
      expect.stringContaining('"todo.item.read"'),
    );
  });

  it('a known name with the wrong shape is denied (and logged), not given a condition that cannot apply', async () => {
    const { policy, logger } = policyWith(ROLES);
    const basicDelete = createPermission({
      name: 'catalog.entity.delete',
      attributes: { action: 'delete' },
    });
    const wrongType = createPermission({
      name: 'scaffolder.task.read',
      attributes: { action: 'read' },
      resourceType: 'catalog-entity',
    });
    await expect(
      policy.handle({ permission: basicDelete }, USERS.devA),
    ).resolves.toEqual(DENY);
    await expect(
      policy.handle({ permission: wrongType }, USERS.devA),
    ).resolves.toEqual(DENY);
    await expect(
      policy.handle({ permission: basicDelete }, USERS.devA),
    ).resolves.toEqual(DENY);
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });
});

describe('coverage of the decision table', () => {
  it('the test table covers exactly the decisions the policy knows', () => {
    expect(TABLE.map(([p]) => p.name).sort()).toEqual(
      DECISIONS.map(d => d.permission.name).sort(),
    );
  });

  it('every permission the backend plugins declare has an explicit decision (an upgrade adding one fails here)', async () => {
    const { policy, logger } = policyWith(ROLES);
    const declared = [
      ...catalogPermissions,
      ...scaffolderPermissions,
      ...goldenPathPermissions,
    ];
    for (const permission of declared) {
      await policy.handle({ permission }, USERS.devA);
    }
    expect(logger.warn).not.toHaveBeenCalled();
    expect(new Set(declared.map(p => p.name))).toEqual(
      new Set(DECISIONS.map(d => d.permission.name)),
    );
  });

  it('the README table lists every decision as the policy makes it', () => {
    const readme = fs.readFileSync(
      path.resolve(__dirname, '../README.md'),
      'utf8',
    );
    const rows = new Map(
      [...readme.matchAll(/^\| `([a-z0-9.-]+)`\s*\| ([^|]+?)\s*\|/gm)].map(
        m => [m[1], m[2]],
      ),
    );
    const text = {
      allow: 'ALLOW',
      deny: 'DENY',
      'own-entity': 'CONDITIONAL: isEntityOwner',
      'own-task': 'CONDITIONAL: isTaskOwner',
    };
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(
        DECISIONS.map(d => [d.permission.name, text[d.developer]]),
      ),
    );
  });
});
