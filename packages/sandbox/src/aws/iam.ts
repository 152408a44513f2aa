import { AwsError } from './errors';
import {
  AwsDb,
  IamPolicyRecord,
  IamRoleRecord,
  IamUserRecord,
  SANDBOX_ACCOUNT_ID,
  Tag,
  iamUniqueId,
  isoNow,
  newAccessKey,
  partitionOf,
  sha256,
} from './state';
import { XmlValue } from './xml';

/**
 * The IAM operations the fake answers, by their `Action` parameter.
 * Any other action gets `InvalidAction`. The sandbox has no groups:
 * DetachGroupPolicy always answers NoSuchEntity. Lists page with
 * `MaxItems` (default 100) and `Marker`, as IAM does.
 */
export const IAM_OPERATIONS = [
  'CreatePolicy',
  'GetPolicy',
  'DeletePolicy',
  'CreatePolicyVersion',
  'GetPolicyVersion',
  'ListPolicyVersions',
  'DeletePolicyVersion',
  'ListPolicyTags',
  'ListEntitiesForPolicy',
  'CreateUser',
  'GetUser',
  'DeleteUser',
  'AttachUserPolicy',
  'DetachUserPolicy',
  'ListAttachedUserPolicies',
  'CreateAccessKey',
  'ListAccessKeys',
  'DeleteAccessKey',
  'DetachGroupPolicy',
  'ListUsers',
  'ListUserTags',
  'ListPolicies',
  'CreateRole',
  'GetRole',
  'DeleteRole',
  'ListRoles',
  'ListRoleTags',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'ListAttachedRolePolicies',
  'PutRolePermissionsBoundary',
  'PutUserPermissionsBoundary',
  'CreateOpenIDConnectProvider',
  'GetOpenIDConnectProvider',
  'ListOpenIDConnectProviders',
  'DeleteOpenIDConnectProvider',
] as const;

export type IamOperation = (typeof IAM_OPERATIONS)[number];

export interface IamContext {
  db: AwsDb;
  /** From the request's SigV4 credential scope; only picks the ARN partition. */
  region: string;
}

/** The `<…Result>` content of a response, or undefined for operations without output. */
type IamResult = { [name: string]: XmlValue } | undefined;

const NAME = /^[\w+=,.@-]+$/;
const POLICY_ARN =
  /^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy\/(?:[\x21-\x7E]*\/)?[\w+=,.@-]+$/;
const MAX_POLICY_SIZE = 6144;
const MAX_POLICY_VERSIONS = 5;
const MAX_POLICIES_PER_USER = 10;
const MAX_POLICIES_PER_ROLE = 10;
const MAX_ACCESS_KEYS_PER_USER = 2;

const noSuchEntity = (message: string) =>
  new AwsError('NoSuchEntity', message, 404);
const alreadyExists = (message: string) =>
  new AwsError('EntityAlreadyExists', message, 409);
const deleteConflict = (message: string) =>
  new AwsError('DeleteConflict', message, 409);
const limitExceeded = (message: string) =>
  new AwsError('LimitExceeded', message, 409);
const malformed = (message: string) =>
  new AwsError('MalformedPolicyDocument', message, 400);
const validation = (message: string) =>
  new AwsError('ValidationError', message, 400);
const invalidInput = (message: string) =>
  new AwsError('InvalidInput', message, 400);

/** Query parameters name members in PascalCase; validation messages in camelCase. */
const camel = (name: string) => name[0].toLowerCase() + name.slice(1);

function optional(params: URLSearchParams, name: string): string | undefined {
  return params.get(name) ?? undefined;
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw validation(
      `1 validation error detected: Value null at '${camel(
        name,
      )}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function entityName(
  params: URLSearchParams,
  name: string,
  maxLength: number,
): string {
  const value = required(params, name);
  if (value.length > maxLength || !NAME.test(value)) {
    throw validation(
      `The specified value for ${camel(
        name,
      )} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_- and be at most ${maxLength} characters long.`,
    );
  }
  return value;
}

function pathOf(params: URLSearchParams): string {
  const path = optional(params, 'Path') ?? '/';
  if (!/^\/(?:[\x21-\x7E]*\/)?$/.test(path) || path.length > 512) {
    throw validation(
      `The specified value for path is invalid. It must begin and end with / and contain only printable ASCII characters.`,
    );
  }
  return path;
}

/** `Tags.member.N.Key` / `Tags.member.N.Value`, N = 1, 2, …; `Tags=` is the empty list. */
function tagsOf(params: URLSearchParams): Tag[] {
  const tags: Tag[] = [];
  for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
    const Key = params.get(`Tags.member.${i}.Key`) ?? '';
    const Value = params.get(`Tags.member.${i}.Value`) ?? '';
    if (Key === '' || Key.length > 128 || Value.length > 256) {
      throw validation(
        `Tag ${i} is invalid: keys must be 1 to 128 characters, values at most 256.`,
      );
    }
    if (tags.some(t => t.Key.toLowerCase() === Key.toLowerCase())) {
      throw invalidInput(
        `Duplicate tag keys found. Please note that Tag keys are case insensitive.`,
      );
    }
    tags.push({ Key, Value });
  }
  if (tags.length > 50)
    throw limitExceeded('Cannot exceed quota for TagsPerResource: 50');
  return tags;
}

/**
 * Checks a policy document as IAM does for an identity-based policy:
 * JSON, `Version` 2012-10-17 (or 2008-10-17), and statements with an
 * `Effect`, an action, a resource and no principal.
 */
export function validatePolicyDocument(text: string): void {
  if (text.replace(/\s/g, '').length > MAX_POLICY_SIZE) {
    throw limitExceeded(
      `Cannot exceed quota for PolicySize: ${MAX_POLICY_SIZE}`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw malformed('Syntax errors in policy.');
  }
  const { Version, Statement } = doc as Record<string, unknown>;
  if (Version === undefined)
    throw malformed('Policy document must have a Version.');
  if (Version !== '2012-10-17' && Version !== '2008-10-17') {
    throw malformed('The policy failed legacy parsing');
  }
  if (Statement === undefined)
    throw malformed('Policy document must have a Statement.');
  const statements = Array.isArray(Statement) ? Statement : [Statement];
  if (statements.length === 0)
    throw malformed('Policy document must have at least one Statement.');
  for (const statement of statements) {
    if (
      typeof statement !== 'object' ||
      statement === null ||
      Array.isArray(statement)
    ) {
      throw malformed('Syntax errors in policy.');
    }
    const s = statement as Record<string, unknown>;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
      throw malformed(
        'Policy statement must contain a valid Effect (Allow or Deny).',
      );
    }
    if (s.Action === undefined && s.NotAction === undefined) {
      throw malformed('Policy statement must contain actions.');
    }
    if (s.Resource === undefined && s.NotResource === undefined) {
      throw malformed('Policy statement must contain resources.');
    }
    if (s.Principal !== undefined || s.NotPrincipal !== undefined) {
      throw malformed('Policy document should not specify a principal.');
    }
  }
}

function policyByArn(
  ctx: IamContext,
  params: URLSearchParams,
): IamPolicyRecord {
  const arn = required(params, 'PolicyArn');
  if (!POLICY_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
  const policy = ctx.db.policies.get(arn);
  if (!policy)
    throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  return policy;
}

function userByName(ctx: IamContext, name: string): IamUserRecord {
  const user = ctx.db.users.get(name.toLowerCase());
  if (!user) throw noSuchEntity(`The user with name ${name} cannot be found.`);
  return user;
}

function attachmentCount(ctx: IamContext, arn: string): number {
  return ctx.db.attachments.list({ parent: arn }).length;
}

function policyView(ctx: IamContext, p: IamPolicyRecord): XmlValue {
  return {
    PolicyName: p.name,
    PolicyId: p.id,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: attachmentCount(ctx, p.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: p.description,
    CreateDate: p.createDate,
    UpdateDate: p.updateDate,
    Tags: p.tags.length ? p.tags : undefined,
  };
}

function userView(u: IamUserRecord): XmlValue {
  return {
    Path: u.path,
    UserName: u.name,
    UserId: u.id,
    Arn: u.arn,
    CreateDate: u.createDate,
    PermissionsBoundary: u.permissionsBoundaryArn
      ? { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: u.permissionsBoundaryArn }
      : undefined,
    Tags: u.tags.length ? u.tags : undefined,
  };
}

const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):oidc-provider\/(.+)$/;

/** The ARN IAM gives the provider of issuer `url` (scheme dropped). */
export function oidcProviderArnOf(region: string, url: string): string {
  return `arn:${partitionOf(region)}:iam::${SANDBOX_ACCOUNT_ID}:oidc-provider/${url.replace(/^https:\/\//, '')}`;
}

/**
 * A role's Federated principals must exist, as IAM checks: an OIDC
 * provider of this account that is not registered makes CreateRole fail
 * with "Invalid principal in policy".
 */
function checkFederatedPrincipals(ctx: IamContext, text: string): void {
  const statements = (JSON.parse(text) as { Statement: unknown }).Statement;
  for (const st of (Array.isArray(statements) ? statements : [statements]) as Record<string, any>[]) {
    const federated: unknown[] = [st.Principal?.Federated ?? []].flat();
    for (const arn of federated) {
      const match = OIDC_PROVIDER_ARN.exec(String(arn));
      if (!match) continue;
      if (match[1] !== SANDBOX_ACCOUNT_ID || !ctx.db.oidcProviders.get(String(arn))) {
        throw malformed(`Invalid principal in policy: "Federated":"${arn}"`);
      }
    }
  }
}

function versionOf(policy: IamPolicyRecord, versionId: string) {
  const version = policy.versions.find(v => v.versionId === versionId);
  if (!version) {
    throw noSuchEntity(
      `Policy ${policy.arn} version ${versionId} does not exist or is not attachable.`,
    );
  }
  return version;
}

const LIST_END = { IsTruncated: false };

/**
 * One page of `items` (sorted by `key`), as IAM lists answer: `MaxItems`
 * (1-1000, default 100), `Marker` from the previous page, `IsTruncated`.
 */
function page<T>(params: URLSearchParams, items: T[], key: (item: T) => string): { items: T[]; more: XmlValue } {
  const maxRaw = optional(params, 'MaxItems');
  const max = maxRaw === undefined ? 100 : Number(maxRaw);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw validation('1 validation error detected: Value at \'maxItems\' failed to satisfy constraint: Member must have value between 1 and 1000');
  }
  const marker = optional(params, 'Marker');
  const after = marker ? Buffer.from(marker, 'base64url').toString('utf8') : undefined;
  const sorted = items
    .map(item => ({ item, k: key(item) }))
    .sort((a, b) => Number(a.k > b.k) - Number(a.k < b.k))
    .filter(x => after === undefined || x.k > after);
  const slice = sorted.slice(0, max);
  const truncated = sorted.length > max;
  return {
    items: slice.map(x => x.item),
    more: truncated
      ? { IsTruncated: true, Marker: Buffer.from(slice[slice.length - 1].k).toString('base64url') }
      : { IsTruncated: false },
  };
}

function roleByName(ctx: IamContext, name: string): IamRoleRecord {
  const role = ctx.db.roles.get(name.toLowerCase());
  if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return role;
}

function roleView(r: IamRoleRecord, full = true): XmlValue {
  return {
    Path: r.path,
    RoleName: r.name,
    RoleId: r.id,
    Arn: r.arn,
    CreateDate: r.createDate,
    // IAM returns policy documents URL-encoded (RFC 3986).
    AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicyDocument),
    Description: r.description,
    MaxSessionDuration: r.maxSessionDuration,
    ...(full
      ? {
          PermissionsBoundary: r.permissionsBoundaryArn
            ? { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: r.permissionsBoundaryArn }
            : undefined,
          Tags: r.tags.length ? r.tags : undefined,
          RoleLastUsed: {},
        }
      : {}),
  };
}

/** A trust policy: like an identity policy, but every statement names a principal. */
function validateTrustPolicy(text: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  const statements = (doc as { Statement?: unknown })?.Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  if (typeof doc !== 'object' || doc === null || statements === undefined || list.length === 0) {
    throw malformed('Syntax errors in policy.');
  }
  if ((doc as { Version?: unknown }).Version !== '2012-10-17' && (doc as { Version?: unknown }).Version !== '2008-10-17') {
    throw malformed('The policy failed legacy parsing');
  }
  for (const st of list as Record<string, unknown>[]) {
    if (!st || typeof st !== 'object' || (st.Effect !== 'Allow' && st.Effect !== 'Deny')) {
      throw malformed('Policy statement must contain a valid Effect (Allow or Deny).');
    }
    if (st.Principal === undefined && st.NotPrincipal === undefined) {
      throw malformed('AssumeRolepolicy contained an invalid principal element.');
    }
    if (st.Action === undefined && st.NotAction === undefined) throw malformed('Policy statement must contain actions.');
    if (st.Resource !== undefined) throw malformed('Has prohibited field Resource');
  }
}

/** The boundary policy named by `PermissionsBoundary` (it must exist). */
function boundaryOf(ctx: IamContext, arn: string): string {
  if (!POLICY_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
  if (!arn.includes(':iam::aws:') && !ctx.db.policies.get(arn)) {
    throw noSuchEntity(`Scope ARN: ${arn} does not exist or is not attachable.`);
  }
  return arn;
}

/** Handlers per action: query parameters in, result content out, {@link AwsError} on failure. */
export const iamHandlers: Record<
  IamOperation,
  (params: URLSearchParams, ctx: IamContext) => IamResult
> = {
  CreatePolicy(params, ctx) {
    const name = entityName(params, 'PolicyName', 128);
    const path = pathOf(params);
    const document = required(params, 'PolicyDocument');
    const description = optional(params, 'Description');
    if (description !== undefined && description.length > 1000) {
      throw validation(
        'The specified value for description is invalid. It must be at most 1000 characters long.',
      );
    }
    const tags = tagsOf(params);
    if (ctx.db.policies.byName(name.toLowerCase())) {
      throw alreadyExists(
        `A policy called ${name} already exists. Duplicate names are not allowed.`,
      );
    }
    validatePolicyDocument(document);
    const now = isoNow();
    const policy: IamPolicyRecord = {
      arn: `arn:${partitionOf(
        ctx.region,
      )}:iam::${SANDBOX_ACCOUNT_ID}:policy${path}${name}`,
      name,
      id: iamUniqueId('ANPA'),
      path,
      ...(description ? { description } : {}),
      createDate: now,
      updateDate: now,
      tags,
      defaultVersionId: 'v1',
      versions: [{ versionId: 'v1', document, createDate: now }],
      nextVersion: 2,
    };
    ctx.db.policies.put(policy);
    return { Policy: policyView(ctx, policy) };
  },

  GetPolicy(params, ctx) {
    return { Policy: policyView(ctx, policyByArn(ctx, params)) };
  },

  DeletePolicy(params, ctx) {
    const policy = policyByArn(ctx, params);
    if (attachmentCount(ctx, policy.arn) > 0) {
      throw deleteConflict('Cannot delete a policy attached to entities.');
    }
    if (policy.versions.length > 1) {
      throw deleteConflict(
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
      );
    }
    ctx.db.policies.delete(policy.arn);
    return undefined;
  },

  CreatePolicyVersion(params, ctx) {
    const policy = policyByArn(ctx, params);
    const document = required(params, 'PolicyDocument');
    validatePolicyDocument(document);
    if (policy.versions.length >= MAX_POLICY_VERSIONS) {
      throw limitExceeded(
        `A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`,
      );
    }
    const now = isoNow();
    const versionId = `v${policy.nextVersion}`;
    policy.nextVersion += 1;
    policy.versions.push({ versionId, document, createDate: now });
    if (optional(params, 'SetAsDefault') === 'true')
      policy.defaultVersionId = versionId;
    policy.updateDate = now;
    ctx.db.policies.put(policy);
    return {
      PolicyVersion: {
        VersionId: versionId,
        IsDefaultVersion: policy.defaultVersionId === versionId,
        CreateDate: now,
      },
    };
  },

  GetPolicyVersion(params, ctx) {
    const policy = policyByArn(ctx, params);
    const version = versionOf(policy, required(params, 'VersionId'));
    return {
      PolicyVersion: {
        // IAM returns documents URL-encoded (RFC 3986).
        Document: encodeURIComponent(version.document),
        VersionId: version.versionId,
        IsDefaultVersion: version.versionId === policy.defaultVersionId,
        CreateDate: version.createDate,
      },
    };
  },

  ListPolicyVersions(params, ctx) {
    const policy = policyByArn(ctx, params);
    const versions = [...policy.versions].reverse().map(v => ({
      VersionId: v.versionId,
      IsDefaultVersion: v.versionId === policy.defaultVersionId,
      CreateDate: v.createDate,
    }));
    return { Versions: versions, ...LIST_END };
  },

  DeletePolicyVersion(params, ctx) {
    const policy = policyByArn(ctx, params);
    const version = versionOf(policy, required(params, 'VersionId'));
    if (version.versionId === policy.defaultVersionId) {
      throw deleteConflict('Cannot delete the default version of a policy.');
    }
    policy.versions = policy.versions.filter(v => v !== version);
    ctx.db.policies.put(policy);
    return undefined;
  },

  ListPolicyTags(params, ctx) {
    return { Tags: policyByArn(ctx, params).tags, ...LIST_END };
  },

  ListEntitiesForPolicy(params, ctx) {
    const policy = policyByArn(ctx, params);
    const filter = optional(params, 'EntityFilter');
    const attached = ctx.db.attachments.list({ parent: policy.arn });
    const of = (type: 'User' | 'Role') =>
      filter === undefined || filter === type
        ? attached.filter(a => a.entityType === type)
        : [];
    const users = of('User').map(a => userByName(ctx, a.entityName));
    const roles = of('Role').flatMap(a => {
      const role = ctx.db.roles.get(a.entityName.toLowerCase());
      return role ? [role] : [];
    });
    return {
      PolicyGroups: [],
      PolicyUsers: users.map(u => ({ UserName: u.name, UserId: u.id })),
      PolicyRoles: roles.map(r => ({ RoleName: r.name, RoleId: r.id })),
      ...LIST_END,
    };
  },

  CreateUser(params, ctx) {
    const name = entityName(params, 'UserName', 64);
    const path = pathOf(params);
    const tags = tagsOf(params);
    if (ctx.db.users.get(name.toLowerCase())) {
      throw alreadyExists(`User with name ${name} already exists.`);
    }
    const boundary = optional(params, 'PermissionsBoundary');
    const user: IamUserRecord = {
      ...(boundary ? { permissionsBoundaryArn: boundaryOf(ctx, boundary) } : {}),
      arn: `arn:${partitionOf(
        ctx.region,
      )}:iam::${SANDBOX_ACCOUNT_ID}:user${path}${name}`,
      name,
      id: iamUniqueId('AIDA'),
      path,
      createDate: isoNow(),
      tags,
      attachedPolicyArns: [],
      accessKeys: [],
    };
    ctx.db.users.put(user);
    return { User: userView(user) };
  },

  GetUser(params, ctx) {
    // Without UserName, real IAM answers with the caller; the sandbox has no caller.
    return { User: userView(userByName(ctx, required(params, 'UserName'))) };
  },

  DeleteUser(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    if (user.accessKeys.length > 0) {
      throw deleteConflict(
        'Cannot delete entity, must delete access keys first.',
      );
    }
    if (user.attachedPolicyArns.length > 0) {
      throw deleteConflict(
        'Cannot delete entity, must detach all policies first.',
      );
    }
    ctx.db.users.delete(user.name.toLowerCase());
    return undefined;
  },

  AttachUserPolicy(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    const policy = policyByArn(ctx, params);
    if (user.attachedPolicyArns.includes(policy.arn)) return undefined;
    if (user.attachedPolicyArns.length >= MAX_POLICIES_PER_USER) {
      throw limitExceeded(
        `Cannot exceed quota for PoliciesPerUser: ${MAX_POLICIES_PER_USER}`,
      );
    }
    user.attachedPolicyArns.push(policy.arn);
    ctx.db.store.transaction(() => {
      ctx.db.users.put(user);
      ctx.db.attach('User', user.name, policy.arn, true);
    });
    return undefined;
  },

  DetachUserPolicy(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    const arn = required(params, 'PolicyArn');
    if (!POLICY_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
    if (!user.attachedPolicyArns.includes(arn))
      throw noSuchEntity(`Policy ${arn} was not found.`);
    user.attachedPolicyArns = user.attachedPolicyArns.filter(a => a !== arn);
    ctx.db.store.transaction(() => {
      ctx.db.users.put(user);
      ctx.db.attach('User', user.name, arn, false);
    });
    return undefined;
  },

  ListAttachedUserPolicies(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    const attached = user.attachedPolicyArns.map(arn => ({
      PolicyName: arn.slice(arn.lastIndexOf('/') + 1),
      PolicyArn: arn,
    }));
    return { AttachedPolicies: attached, ...LIST_END };
  },

  CreateAccessKey(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    if (user.accessKeys.length >= MAX_ACCESS_KEYS_PER_USER) {
      throw limitExceeded(
        `Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS_PER_USER}`,
      );
    }
    const { accessKeyId, secretAccessKey } = newAccessKey();
    const createDate = isoNow();
    user.accessKeys.push({
      accessKeyId,
      secretSha256: sha256(secretAccessKey),
      status: 'Active',
      createDate,
    });
    ctx.db.store.transaction(() => {
      ctx.db.users.put(user);
      ctx.db.accessKeys.put({ accessKeyId, userName: user.name });
    });
    return {
      AccessKey: {
        UserName: user.name,
        AccessKeyId: accessKeyId,
        Status: 'Active',
        SecretAccessKey: secretAccessKey,
        CreateDate: createDate,
      },
    };
  },

  ListAccessKeys(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    const keys = user.accessKeys.map(k => ({
      UserName: user.name,
      AccessKeyId: k.accessKeyId,
      Status: k.status,
      CreateDate: k.createDate,
    }));
    return { AccessKeyMetadata: keys, ...LIST_END };
  },

  DeleteAccessKey(params, ctx) {
    const accessKeyId = required(params, 'AccessKeyId');
    const userName = optional(params, 'UserName');
    const owner = ctx.db.accessKeys.get(accessKeyId)?.userName;
    const user =
      owner && (!userName || userName.toLowerCase() === owner.toLowerCase())
        ? userByName(ctx, owner)
        : undefined;
    if (userName) userByName(ctx, userName);
    if (!user)
      throw noSuchEntity(
        `The Access Key with id ${accessKeyId} cannot be found.`,
      );
    user.accessKeys = user.accessKeys.filter(
      k => k.accessKeyId !== accessKeyId,
    );
    ctx.db.store.transaction(() => {
      ctx.db.users.put(user);
      ctx.db.accessKeys.delete(accessKeyId);
    });
    return undefined;
  },

  DetachGroupPolicy(params) {
    const group = required(params, 'GroupName');
    required(params, 'PolicyArn');
    throw noSuchEntity(`The group with name ${group} cannot be found.`);
  },

  ListUsers(params, ctx) {
    const prefix = optional(params, 'PathPrefix') ?? '/';
    const users = ctx.db.users.list().filter(u => u.path.startsWith(prefix));
    const { items, more } = page(params, users, u => u.name.toLowerCase());
    // ListUsers leaves Tags out, as IAM does.
    return { Users: items.map(u => ({ ...(userView(u) as object), Tags: undefined })), ...(more as object) };
  },

  ListUserTags(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    const { items, more } = page(params, user.tags, t => t.Key);
    return { Tags: items, ...(more as object) };
  },

  ListPolicies(params, ctx) {
    const scope = optional(params, 'Scope') ?? 'All';
    if (!['All', 'AWS', 'Local'].includes(scope)) {
      throw validation("1 validation error detected: Value at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]");
    }
    const prefix = optional(params, 'PathPrefix') ?? '/';
    const onlyAttached = optional(params, 'OnlyAttached') === 'true';
    // The sandbox has no AWS managed policies: Scope=AWS lists nothing.
    const policies =
      scope === 'AWS'
        ? []
        : ctx.db.policies
            .list()
            .filter(p => p.path.startsWith(prefix))
            .filter(p => !onlyAttached || attachmentCount(ctx, p.arn) > 0);
    const { items, more } = page(params, policies, p => p.name.toLowerCase());
    return {
      Policies: items.map(p => ({ ...(policyView(ctx, p) as object), Description: undefined, Tags: undefined })),
      ...(more as object),
    };
  },

  CreateRole(params, ctx) {
    const name = entityName(params, 'RoleName', 64);
    const path = pathOf(params);
    const document = required(params, 'AssumeRolePolicyDocument');
    const description = optional(params, 'Description');
    if (description !== undefined && description.length > 1000) {
      throw validation('The specified value for description is invalid. It must be at most 1000 characters long.');
    }
    const duration = Number(optional(params, 'MaxSessionDuration') ?? 3600);
    if (!Number.isInteger(duration) || duration < 3600 || duration > 43200) {
      throw validation("1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200");
    }
    const tags = tagsOf(params);
    if (ctx.db.roles.get(name.toLowerCase())) {
      throw alreadyExists(`Role with name ${name} already exists.`);
    }
    validateTrustPolicy(document);
    checkFederatedPrincipals(ctx, document);
    const boundary = optional(params, 'PermissionsBoundary');
    const role: IamRoleRecord = {
      arn: `arn:${partitionOf(ctx.region)}:iam::${SANDBOX_ACCOUNT_ID}:role${path}${name}`,
      name,
      id: iamUniqueId('AROA'),
      path,
      createDate: isoNow(),
      ...(description !== undefined ? { description } : {}),
      maxSessionDuration: duration,
      assumeRolePolicyDocument: document,
      ...(boundary ? { permissionsBoundaryArn: boundaryOf(ctx, boundary) } : {}),
      tags,
      attachedPolicyArns: [],
    };
    ctx.db.roles.put(role);
    return { Role: roleView(role) };
  },

  GetRole(params, ctx) {
    return { Role: roleView(roleByName(ctx, required(params, 'RoleName'))) };
  },

  DeleteRole(params, ctx) {
    const role = roleByName(ctx, required(params, 'RoleName'));
    if (role.attachedPolicyArns.length > 0) {
      throw deleteConflict('Cannot delete entity, must detach all policies first.');
    }
    ctx.db.roles.delete(role.name.toLowerCase());
    return undefined;
  },

  ListRoles(params, ctx) {
    const prefix = optional(params, 'PathPrefix') ?? '/';
    const roles = ctx.db.roles.list().filter(r => r.path.startsWith(prefix));
    const { items, more } = page(params, roles, r => r.name.toLowerCase());
    // ListRoles leaves out PermissionsBoundary, Tags and RoleLastUsed, as IAM does.
    return { Roles: items.map(r => roleView(r, false)), ...(more as object) };
  },

  ListRoleTags(params, ctx) {
    const role = roleByName(ctx, required(params, 'RoleName'));
    const { items, more } = page(params, role.tags, t => t.Key);
    return { Tags: items, ...(more as object) };
  },

  AttachRolePolicy(params, ctx) {
    const role = roleByName(ctx, required(params, 'RoleName'));
    const policy = policyByArn(ctx, params);
    if (role.attachedPolicyArns.includes(policy.arn)) return undefined;
    if (role.attachedPolicyArns.length >= MAX_POLICIES_PER_ROLE) {
      throw limitExceeded(`Cannot exceed quota for PoliciesPerRole: ${MAX_POLICIES_PER_ROLE}`);
    }
    role.attachedPolicyArns.push(policy.arn);
    ctx.db.store.transaction(() => {
      ctx.db.roles.put(role);
      ctx.db.attach('Role', role.name, policy.arn, true);
    });
    return undefined;
  },

  DetachRolePolicy(params, ctx) {
    const role = roleByName(ctx, required(params, 'RoleName'));
    const arn = required(params, 'PolicyArn');
    if (!POLICY_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
    if (!role.attachedPolicyArns.includes(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
    role.attachedPolicyArns = role.attachedPolicyArns.filter(a => a !== arn);
    ctx.db.store.transaction(() => {
      ctx.db.roles.put(role);
      ctx.db.attach('Role', role.name, arn, false);
    });
    return undefined;
  },

  ListAttachedRolePolicies(params, ctx) {
    const role = roleByName(ctx, required(params, 'RoleName'));
    const attached = role.attachedPolicyArns.map(arn => ({
      PolicyName: arn.slice(arn.lastIndexOf('/') + 1),
      PolicyArn: arn,
    }));
    const { items, more } = page(params, attached, a => a.PolicyName.toLowerCase());
    return { AttachedPolicies: items, ...(more as object) };
  },

  PutRolePermissionsBoundary(params, ctx) {
    const role = roleByName(ctx, required(params, 'RoleName'));
    role.permissionsBoundaryArn = boundaryOf(ctx, required(params, 'PermissionsBoundary'));
    ctx.db.roles.put(role);
    return undefined;
  },

  PutUserPermissionsBoundary(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    user.permissionsBoundaryArn = boundaryOf(ctx, required(params, 'PermissionsBoundary'));
    ctx.db.users.put(user);
    return undefined;
  },

  CreateOpenIDConnectProvider(params, ctx) {
    const url = required(params, 'Url');
    if (!/^https:\/\/[^\s?#]+$/.test(url) || url.length > 255) {
      throw validation('The specified value for url is invalid. It must begin with https:// and contain no query or fragment.');
    }
    const list = (name: string) => {
      const out: string[] = [];
      for (let i = 1; params.has(`${name}.member.${i}`); i++) out.push(params.get(`${name}.member.${i}`)!);
      return out;
    };
    const arn = oidcProviderArnOf(ctx.region, url);
    if (ctx.db.oidcProviders.get(arn)) {
      throw alreadyExists(`Provider with url ${url} already exists.`);
    }
    ctx.db.oidcProviders.put({
      arn,
      url,
      clientIds: list('ClientIDList'),
      thumbprints: list('ThumbprintList'),
      createDate: isoNow(),
      tags: tagsOf(params),
    });
    return { OpenIDConnectProviderArn: arn };
  },

  GetOpenIDConnectProvider(params, ctx) {
    const arn = required(params, 'OpenIDConnectProviderArn');
    const provider = ctx.db.oidcProviders.get(arn);
    if (!provider) throw noSuchEntity(`OpenIDConnect Provider not found for arn ${arn}`);
    return {
      Url: provider.url.replace(/^https:\/\//, ''),
      ClientIDList: provider.clientIds,
      ThumbprintList: provider.thumbprints,
      CreateDate: provider.createDate,
      Tags: provider.tags.length ? provider.tags : undefined,
    };
  },

  ListOpenIDConnectProviders(_params, ctx) {
    return {
      OpenIDConnectProviderList: ctx.db.oidcProviders.list().map(p => ({ Arn: p.arn })),
    };
  },

  DeleteOpenIDConnectProvider(params, ctx) {
    const arn = required(params, 'OpenIDConnectProviderArn');
    if (!ctx.db.oidcProviders.get(arn)) {
      throw noSuchEntity(`OpenIDConnect Provider not found for arn ${arn}`);
    }
    ctx.db.oidcProviders.delete(arn);
    return undefined;
  },
};
