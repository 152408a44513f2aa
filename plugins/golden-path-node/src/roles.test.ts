import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { ConfigSources, FileConfigSource } from '@backstage/config-loader';
import yaml from 'yaml';
import {
  isDeveloper,
  isPlatformAdmin,
  readRoles,
  RolesConfigError,
  rolesConfigProblems,
} from './roles';

const ROLES_YAML = path.resolve(__dirname, '../../../roles.yaml');

const withRoles = (roles: unknown) =>
  new ConfigReader({ goldenPath: { permissions: { roles } } } as any);

describe('the real roles.yaml', () => {
  it('validates', () => {
    const roles = yaml.parse(fs.readFileSync(ROLES_YAML, 'utf8'));
    expect(rolesConfigProblems(withRoles(roles))).toEqual([]);
    expect(readRoles(withRoles(roles))).toEqual({
      platformAdmins: ['group:default/platform-admins'],
      developers: 'all-group-members',
    });
  });

  it('loads through a config file with `$include: ./roles.yaml`, as app-config does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roles-include-'));
    try {
      fs.copyFileSync(ROLES_YAML, path.join(dir, 'roles.yaml'));
      fs.writeFileSync(
        path.join(dir, 'app-config.yaml'),
        'goldenPath:\n  permissions:\n    roles:\n      $include: ./roles.yaml\n',
      );
      const config = await ConfigSources.toConfig(
        FileConfigSource.create({
          path: path.join(dir, 'app-config.yaml'),
          watch: false,
        }),
      );
      try {
        expect(readRoles(config).platformAdmins).toEqual([
          'group:default/platform-admins',
        ]);
      } finally {
        config.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readRoles', () => {
  it('reads a list of developer groups, lower-cased', () => {
    expect(
      readRoles(
        withRoles({
          platformAdmins: ['group:default/Platform-Admins'],
          developers: ['group:default/team-a', 'group:apps/team-b'],
        }),
      ),
    ).toEqual({
      platformAdmins: ['group:default/platform-admins'],
      developers: ['group:default/team-a', 'group:apps/team-b'],
    });
  });

  it.each<[string, unknown, Array<{ key: string; message: RegExp }>]>([
    [
      'no roles at all',
      undefined,
      [
        {
          key: 'goldenPath.permissions.roles',
          message: /is missing: add .*\$include: \.\/roles\.yaml/,
        },
      ],
    ],
    [
      'roles is not a mapping',
      'admins',
      [
        {
          key: 'goldenPath.permissions.roles',
          message: /must be a mapping with platformAdmins and developers/,
        },
      ],
    ],
    [
      'platformAdmins missing',
      { developers: 'all-group-members' },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins',
          message: /^is missing: it must be a list of group refs/,
        },
      ],
    ],
    [
      'platformAdmins is a single string',
      {
        platformAdmins: 'group:default/platform-admins',
        developers: 'all-group-members',
      },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins',
          message: /^must be a list of group refs/,
        },
      ],
    ],
    [
      'platformAdmins empty',
      { platformAdmins: [], developers: 'all-group-members' },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins',
          message: /must list at least one group/,
        },
      ],
    ],
    [
      'a user ref among the admins',
      {
        platformAdmins: ['user:default/jane'],
        developers: 'all-group-members',
      },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins[0]',
          message:
            /"user:default\/jane" is not a group ref: write group:<namespace>\/<name>/,
        },
      ],
    ],
    [
      'a group without namespace',
      {
        platformAdmins: ['group:platform-admins'],
        developers: 'all-group-members',
      },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins[0]',
          message: /has no namespace: write group:default\/platform-admins/,
        },
      ],
    ],
    [
      'a bare group name',
      {
        platformAdmins: ['group:default/ok', 'platform-admins'],
        developers: 'all-group-members',
      },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins[1]',
          message: /is not a group ref: write group:default\/platform-admins/,
        },
      ],
    ],
    [
      'a number among the admins',
      { platformAdmins: [42], developers: 'all-group-members' },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins[0]',
          message: /must be a group ref/,
        },
      ],
    ],
    [
      'developers missing',
      { platformAdmins: ['group:default/platform-admins'] },
      [
        {
          key: 'goldenPath.permissions.roles.developers',
          message:
            /is missing: write "all-group-members" or a list of group refs/,
        },
      ],
    ],
    [
      'developers misspelt',
      {
        platformAdmins: ['group:default/platform-admins'],
        developers: 'all-members',
      },
      [
        {
          key: 'goldenPath.permissions.roles.developers',
          message:
            /is "all-members"; must be "all-group-members" or a list of group refs/,
        },
      ],
    ],
    [
      'developers an empty list',
      { platformAdmins: ['group:default/platform-admins'], developers: [] },
      [
        {
          key: 'goldenPath.permissions.roles.developers',
          message: /must list at least one group/,
        },
      ],
    ],
    [
      'a bad developer group',
      {
        platformAdmins: ['group:default/platform-admins'],
        developers: ['group:default/a', 'team-b'],
      },
      [
        {
          key: 'goldenPath.permissions.roles.developers[1]',
          message: /"team-b" is not a group ref/,
        },
      ],
    ],
    [
      'an unknown key (typo)',
      {
        platformAdmin: ['group:default/platform-admins'],
        platformAdmins: ['group:default/x'],
        developers: 'all-group-members',
      },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmin',
          message:
            /is not a known key \(expected platformAdmins and developers\)/,
        },
      ],
    ],
    [
      'several problems at once',
      { platformAdmins: [], developers: 'everyone' },
      [
        {
          key: 'goldenPath.permissions.roles.platformAdmins',
          message: /must list at least one group/,
        },
        {
          key: 'goldenPath.permissions.roles.developers',
          message: /is "everyone"/,
        },
      ],
    ],
  ])('%s', (_name, roles, expected) => {
    const config = withRoles(roles);
    const problems = rolesConfigProblems(config);
    expect(problems).toEqual(
      expected.map(e => ({
        key: e.key,
        message: expect.stringMatching(e.message),
      })),
    );
    expect(() => readRoles(config)).toThrow(RolesConfigError);
    for (const e of expected) {
      expect(() => readRoles(config)).toThrow(e.key);
    }
  });

  it('reports a missing goldenPath.permissions section', () => {
    const config = new ConfigReader({ goldenPath: { signIn: 'guest' } });
    expect(rolesConfigProblems(config)).toEqual([
      {
        key: 'goldenPath.permissions.roles',
        message: expect.stringMatching(/^is missing: add/),
      },
    ]);
    expect(() => readRoles(new ConfigReader({}))).toThrow(
      /Invalid permission roles \(roles\.yaml\): goldenPath\.permissions\.roles is missing/,
    );
  });

  it('reports a misspelt roles key', () => {
    const config = new ConfigReader({
      goldenPath: {
        permissions: { role: { platformAdmins: ['group:default/a'] } },
      },
    });
    expect(rolesConfigProblems(config)).toEqual([
      {
        key: 'goldenPath.permissions.roles',
        message: expect.stringMatching(/^is missing/),
      },
      {
        key: 'goldenPath.permissions.role',
        message: expect.stringMatching(/is not a known key \(expected roles\)/),
      },
    ]);
  });

  it('reports an unknown key beside roles', () => {
    const config = new ConfigReader({
      goldenPath: {
        permissions: {
          role: {},
          roles: {
            platformAdmins: ['group:default/a'],
            developers: 'all-group-members',
          },
        },
      },
    });
    expect(rolesConfigProblems(config)).toEqual([
      {
        key: 'goldenPath.permissions.role',
        message: expect.stringMatching(/is not a known key \(expected roles\)/),
      },
    ]);
  });
});

describe('isPlatformAdmin / isDeveloper', () => {
  const all = readRoles(
    withRoles({
      platformAdmins: ['group:default/platform-admins'],
      developers: 'all-group-members',
    }),
  );
  const listed = readRoles(
    withRoles({
      platformAdmins: ['group:default/platform-admins'],
      developers: ['group:default/team-a'],
    }),
  );

  it.each<[string, string[], boolean, boolean, boolean]>([
    // refs, admin, developer (all-group-members), developer (list: team-a)
    [
      'admin',
      ['user:default/al', 'group:default/platform-admins'],
      true,
      true,
      true,
    ],
    [
      'admin, other case',
      ['user:default/al', 'Group:Default/Platform-Admins'],
      true,
      true,
      true,
    ],
    ['team A', ['user:default/ann', 'group:default/team-a'], false, true, true],
    [
      'team B',
      ['user:default/bob', 'group:default/team-b'],
      false,
      true,
      false,
    ],
    ['no group', ['user:default/lone'], false, false, false],
    ['nothing', [], false, false, false],
    [
      'a user named like a group',
      ['user:default/platform-admins'],
      false,
      false,
      false,
    ],
  ])('%s', (_name, refs, admin, developerAll, developerListed) => {
    expect(isPlatformAdmin(all, refs)).toBe(admin);
    expect(isDeveloper(all, refs)).toBe(developerAll);
    expect(isDeveloper(listed, refs)).toBe(developerListed);
  });
});
