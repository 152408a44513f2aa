import { JsonStore } from '../state';
import { AwsError } from './errors';
import {
  AwsState,
  IamPolicyRecord,
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
 * Any other action gets `InvalidAction`. The sandbox has no roles or
 * groups: DetachRolePolicy / DetachGroupPolicy always answer NoSuchEntity.
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
  'DetachRolePolicy',
  'DetachGroupPolicy',
] as const;

export type IamOperation = (typeof IAM_OPERATIONS)[number];

export interface IamContext {
  store: JsonStore<AwsState>;
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
  const policy = Object.values(ctx.store.data.policies).find(
    p => p.arn === arn,
  );
  if (!policy)
    throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  return policy;
}

function userByName(ctx: IamContext, name: string): IamUserRecord {
  const user = ctx.store.data.users[name.toLowerCase()];
  if (!user) throw noSuchEntity(`The user with name ${name} cannot be found.`);
  return user;
}

function attachmentCount(ctx: IamContext, arn: string): number {
  return Object.values(ctx.store.data.users).filter(u =>
    u.attachedPolicyArns.includes(arn),
  ).length;
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
    Tags: u.tags.length ? u.tags : undefined,
  };
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
    if (ctx.store.data.policies[name.toLowerCase()]) {
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
    ctx.store.data.policies[name.toLowerCase()] = policy;
    ctx.store.save();
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
    delete ctx.store.data.policies[policy.name.toLowerCase()];
    ctx.store.save();
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
    ctx.store.save();
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
    ctx.store.save();
    return undefined;
  },

  ListPolicyTags(params, ctx) {
    return { Tags: policyByArn(ctx, params).tags, ...LIST_END };
  },

  ListEntitiesForPolicy(params, ctx) {
    const policy = policyByArn(ctx, params);
    const filter = optional(params, 'EntityFilter');
    const users =
      filter === undefined || filter === 'User'
        ? Object.values(ctx.store.data.users).filter(u =>
            u.attachedPolicyArns.includes(policy.arn),
          )
        : [];
    return {
      PolicyGroups: [],
      PolicyUsers: users.map(u => ({ UserName: u.name, UserId: u.id })),
      PolicyRoles: [],
      ...LIST_END,
    };
  },

  CreateUser(params, ctx) {
    const name = entityName(params, 'UserName', 64);
    const path = pathOf(params);
    const tags = tagsOf(params);
    if (ctx.store.data.users[name.toLowerCase()]) {
      throw alreadyExists(`User with name ${name} already exists.`);
    }
    const user: IamUserRecord = {
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
    ctx.store.data.users[name.toLowerCase()] = user;
    ctx.store.save();
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
    delete ctx.store.data.users[user.name.toLowerCase()];
    ctx.store.save();
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
    ctx.store.save();
    return undefined;
  },

  DetachUserPolicy(params, ctx) {
    const user = userByName(ctx, required(params, 'UserName'));
    const arn = required(params, 'PolicyArn');
    if (!POLICY_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
    if (!user.attachedPolicyArns.includes(arn))
      throw noSuchEntity(`Policy ${arn} was not found.`);
    user.attachedPolicyArns = user.attachedPolicyArns.filter(a => a !== arn);
    ctx.store.save();
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
    ctx.store.save();
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
    const candidates = userName
      ? [userByName(ctx, userName)]
      : Object.values(ctx.store.data.users);
    const user = candidates.find(u =>
      u.accessKeys.some(k => k.accessKeyId === accessKeyId),
    );
    if (!user)
      throw noSuchEntity(
        `The Access Key with id ${accessKeyId} cannot be found.`,
      );
    user.accessKeys = user.accessKeys.filter(
      k => k.accessKeyId !== accessKeyId,
    );
    ctx.store.save();
    return undefined;
  },

  DetachRolePolicy(params) {
    const role = required(params, 'RoleName');
    required(params, 'PolicyArn');
    throw noSuchEntity(`The role with name ${role} cannot be found.`);
  },

  DetachGroupPolicy(params) {
    const group = required(params, 'GroupName');
    required(params, 'PolicyArn');
    throw noSuchEntity(`The group with name ${group} cannot be found.`);
  },
};
