import { Config } from '@backstage/config';
import { z } from 'zod';

/**
 * The roles of the portal's permission policy, from
 * `goldenPath.permissions.roles` (app-config sets it with
 * `$include: ./roles.yaml`, which a platform team edits without TypeScript).
 *
 * Exported so that the config validator and the golden-path scaffolder
 * module read and check the same declaration as the policy.
 */

/** Config key of the roles. */
export const ROLES_KEY = 'goldenPath.permissions.roles';

/** `developers` value: every signed-in member of any catalog group. */
export const ALL_GROUP_MEMBERS = 'all-group-members';

const GROUP_REF = /^group:[^\s:/]+\/[^\s:/]+$/i;

function groupRefProblem(value: string): string | undefined {
  if (GROUP_REF.test(value)) return undefined;
  if (/^group:[^\s:/]+$/i.test(value)) {
    return `"${value}" has no namespace: write ${value.replace(
      /^group:/i,
      'group:default/',
    )}`;
  }
  if (/^[^\s:/]+$/.test(value)) {
    return `"${value}" is not a group ref: write group:default/${value}`;
  }
  return `"${value}" is not a group ref: write group:<namespace>/<name>, e.g. group:default/platform-admins`;
}

const groupRef = z
  .string({
    message: 'must be a group ref such as group:default/platform-admins',
  })
  .superRefine((value, ctx) => {
    const problem = groupRefProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const groupRefList = (what: string) =>
  z
    .array(groupRef, {
      message: `must be a list of group refs (${what}), e.g. [group:default/platform-admins]`,
    })
    .min(1, `must list at least one group (${what})`);

const developersSchema = z
  .unknown()
  .transform((value, ctx): typeof ALL_GROUP_MEMBERS | string[] => {
    if (value === ALL_GROUP_MEMBERS) return ALL_GROUP_MEMBERS;
    if (Array.isArray(value)) {
      const parsed = groupRefList(
        'who may run the golden-path templates',
      ).safeParse(value);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues) {
        ctx.addIssue({
          code: 'custom',
          message: issue.message,
          path: issue.path,
        });
      }
      return z.NEVER;
    }
    ctx.addIssue({
      code: 'custom',
      message:
        value === undefined || value === null
          ? `is missing: write "${ALL_GROUP_MEMBERS}" or a list of group refs`
          : `is ${JSON.stringify(
              value,
            )}; must be "${ALL_GROUP_MEMBERS}" or a list of group refs`,
    });
    return z.NEVER;
  });

/** Shape of roles.yaml (`goldenPath.permissions.roles`). */
export const rolesConfigSchema = z
  .object(
    {
      platformAdmins: groupRefList('whose members are platform admins'),
      developers: developersSchema,
    },
    {
      message:
        'must be a mapping with platformAdmins and developers; set it with `$include: ./roles.yaml`',
    },
  )
  .strict();

/** Shape of `goldenPath.permissions` (only `roles` so far). */
export const permissionsConfigSchema = z
  .object(
    { roles: rolesConfigSchema },
    { message: 'must be a mapping with roles' },
  )
  .strict();

/** The roles as the policy uses them: group refs, lower-cased. */
export interface Roles {
  /** Members of these groups are platform admins: every permission. */
  platformAdmins: string[];
  /** Who may use the portal as a developer. */
  developers: typeof ALL_GROUP_MEMBERS | string[];
}

/** One problem with the roles config, in the config validator's shape. */
export interface RolesConfigProblem {
  /** Config key at fault, e.g. `goldenPath.permissions.roles.platformAdmins[0]`. */
  key: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** Thrown by {@link readRoles}; its message names every key at fault. */
export class RolesConfigError extends Error {
  name = 'RolesConfigError';
}

const lowerAll = (refs: readonly string[]) =>
  refs.map(ref => ref.toLocaleLowerCase('en-US'));

function keyOf(path: ReadonlyArray<PropertyKey>): string {
  let key = 'goldenPath.permissions';
  for (const part of path) {
    key += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  }
  return key;
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value: any = raw;
  for (const part of path) value = value?.[part as any];
  return value;
}

function problemsOf(raw: unknown): {
  roles?: Roles;
  problems: RolesConfigProblem[];
} {
  const roles = (raw as { roles?: unknown } | null | undefined)?.roles;
  if (roles === undefined || roles === null) {
    const others =
      raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? Object.keys(raw)
        : [];
    return {
      problems: [
        {
          key: ROLES_KEY,
          message:
            'is missing: add `goldenPath: { permissions: { roles: { $include: ./roles.yaml } } }` to the app-config (deny by default needs to know who the admins are)',
        },
        ...others.map(k => ({
          key: keyOf([k]),
          message: 'is not a known key (expected roles); check the spelling',
        })),
      ],
    };
  }
  const parsed = permissionsConfigSchema.safeParse(raw);
  if (parsed.success) {
    const { platformAdmins, developers } = parsed.data.roles;
    return {
      roles: {
        platformAdmins: lowerAll(platformAdmins),
        developers:
          developers === ALL_GROUP_MEMBERS ? developers : lowerAll(developers),
      },
      problems: [],
    };
  }
  const problems = parsed.error.issues.flatMap(
    (issue): RolesConfigProblem[] => {
      if (issue.code === 'unrecognized_keys') {
        const known =
          issue.path.length === 0 ? 'roles' : 'platformAdmins and developers';
        return issue.keys.map(k => ({
          key: keyOf([...issue.path, k]),
          message: `is not a known key (expected ${known}); check the spelling`,
        }));
      }
      const missing =
        issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined;
      return [
        {
          key: keyOf(issue.path),
          message: missing ? `is missing: it ${issue.message}` : issue.message,
        },
      ];
    },
  );
  return { problems };
}

/**
 * Every problem with `goldenPath.permissions` (empty when it is valid), for
 * the config validator. A missing section is a problem: the policy module
 * refuses to start without roles.
 */
export function rolesConfigProblems(config: Config): RolesConfigProblem[] {
  return problemsOf(config.getOptional('goldenPath.permissions')).problems;
}

/**
 * Reads and validates the roles. Throws one {@link RolesConfigError} naming
 * every key at fault.
 */
export function readRoles(config: Config): Roles {
  const { roles, problems } = problemsOf(
    config.getOptional('goldenPath.permissions'),
  );
  if (!roles) {
    throw new RolesConfigError(
      `Invalid permission roles (roles.yaml): ${problems
        .map(p => `${p.key} ${p.message}`)
        .join('; ')}`,
    );
  }
  return roles;
}

/**
 * Whether a user with these ownership refs (`BackstageUserInfo.ownershipEntityRefs`:
 * the user and the groups they are a member of, resolved at sign-in) is a
 * platform admin.
 */
export function isPlatformAdmin(
  roles: Roles,
  ownershipEntityRefs: readonly string[],
): boolean {
  const refs = lowerAll(ownershipEntityRefs);
  return roles.platformAdmins.some(group => refs.includes(group));
}

/**
 * Whether a user with these ownership refs may use the portal as a
 * developer: a member of any catalog group, or of one of the configured
 * groups. Platform admins are developers too.
 */
export function isDeveloper(
  roles: Roles,
  ownershipEntityRefs: readonly string[],
): boolean {
  if (isPlatformAdmin(roles, ownershipEntityRefs)) return true;
  const refs = lowerAll(ownershipEntityRefs);
  if (roles.developers === ALL_GROUP_MEMBERS) {
    return refs.some(ref => ref.startsWith('group:'));
  }
  return roles.developers.some(group => refs.includes(group));
}
