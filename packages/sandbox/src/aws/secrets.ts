import crypto from 'node:crypto';
import { AwsError } from './errors';
import { AwsDb, SANDBOX_ACCOUNT_ID, SecretRecord, SecretVersionRecord, Tag, partitionOf, randomString } from './state';

/** `X-Amz-Target` prefix of every Secrets Manager operation (JSON 1.1 protocol). */
export const SECRETS_TARGET_PREFIX = 'secretsmanager.';

/** The Secrets Manager operations the fake answers, by their `X-Amz-Target` suffix. */
export const SECRETS_OPERATIONS = [
  'CreateSecret',
  'GetSecretValue',
  'DescribeSecret',
  'PutSecretValue',
  'DeleteSecret',
  'RestoreSecret',
  'ListSecrets',
  'TagResource',
  'UntagResource',
] as const;

export type SecretsOperation = (typeof SECRETS_OPERATIONS)[number];

type Json = Record<string, unknown>;

export interface SecretsContext {
  db: AwsDb;
  region: string;
}

const NAME = /^[\w/+=.@-]{1,512}$/;
const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

const invalidParameter = (message: string) => new AwsError('InvalidParameterException', message);
const invalidRequest = (message: string) => new AwsError('InvalidRequestException', message);
const notFound = () => new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
const markedForDeletion = () =>
  invalidRequest("You can't perform this operation on the secret because it was marked for deletion.");

function optionalString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${key} must be a string.`);
  return value;
}

function tagsOf(input: Json): Tag[] {
  const value = input.Tags;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidParameter('Tags must be a list.');
  return value.map(t => {
    const tag = t as Json;
    if (typeof tag?.Key !== 'string' || !tag.Key || tag.Key.length > 128) throw invalidParameter('Invalid tag key.');
    if (tag.Value !== undefined && (typeof tag.Value !== 'string' || tag.Value.length > 256)) {
      throw invalidParameter('Invalid tag value.');
    }
    return { Key: tag.Key, Value: (tag.Value as string | undefined) ?? '' };
  });
}

function mergeTags(existing: Tag[], incoming: Tag[]): Tag[] {
  const byKey = new Map(existing.map(t => [t.Key, t.Value]));
  for (const t of incoming) byKey.set(t.Key, t.Value);
  if (byKey.size > 50) throw invalidParameter('A resource can have at most 50 tags.');
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

/** The secret named by `SecretId`: its name, its full ARN, or its ARN without the random suffix. */
function secretOf(input: Json, ctx: SecretsContext): SecretRecord {
  const id = optionalString(input, 'SecretId');
  if (!id) throw invalidParameter('SecretId is required.');
  if (id.startsWith('arn:')) {
    const exact = ctx.db.secrets.get(id);
    if (exact) return exact;
    const name = /:secret:(.+)$/.exec(id)?.[1];
    const partial = name ? ctx.db.secrets.byName(name) : undefined;
    if (partial) return partial;
    throw notFound();
  }
  const secret = ctx.db.secrets.byName(id);
  if (!secret) throw notFound();
  return secret;
}

/** A new version from `SecretString`/`SecretBinary` (exactly one is required). */
function versionOf(input: Json, stages: string[]): SecretVersionRecord {
  const secretString = optionalString(input, 'SecretString');
  const secretBinary = optionalString(input, 'SecretBinary');
  if (secretString !== undefined && secretBinary !== undefined) {
    throw invalidParameter('You can\'t specify both a binary secret value and a string secret value in the same secret.');
  }
  if (secretString !== undefined && secretString.length > 65536) throw invalidParameter('SecretString is too long.');
  const token = optionalString(input, 'ClientRequestToken');
  if (token !== undefined && (token.length < 32 || token.length > 64)) {
    throw invalidParameter('ClientRequestToken must be 32 to 64 characters long.');
  }
  return {
    versionId: token ?? crypto.randomUUID(),
    ...(secretString !== undefined ? { secretString } : {}),
    ...(secretBinary !== undefined ? { secretBinary } : {}),
    stages,
    createdDate: now(),
  };
}

function versionAsked(secret: SecretRecord, input: Json = {}): SecretVersionRecord {
  const versionId = optionalString(input, 'VersionId');
  const stage = optionalString(input, 'VersionStage') ?? (versionId ? undefined : 'AWSCURRENT');
  const version = secret.versions.find(
    v => (!versionId || v.versionId === versionId) && (!stage || v.stages.includes(stage)),
  );
  if (!version) {
    throw new AwsError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    );
  }
  return version;
}

const stagesMap = (secret: SecretRecord) =>
  Object.fromEntries(secret.versions.filter(v => v.stages.length > 0).map(v => [v.versionId, v.stages]));

function describe(secret: SecretRecord): Json {
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    ...(secret.kmsKeyId ? { KmsKeyId: secret.kmsKeyId } : {}),
    LastChangedDate: secret.lastChangedDate,
    ...(secret.lastAccessedDate ? { LastAccessedDate: secret.lastAccessedDate } : {}),
    ...(secret.deletedDate ? { DeletedDate: secret.deletedDate } : {}),
    Tags: secret.tags,
    VersionIdsToStages: stagesMap(secret),
    CreatedDate: secret.createdDate,
  };
}

/** Secrets whose scheduled deletion is due are gone for good. */
function purgeDue(ctx: SecretsContext, secret: SecretRecord | undefined): SecretRecord | undefined {
  if (secret?.deletedDate && secret.deletedDate <= now()) {
    ctx.db.secrets.delete(secret.arn);
    return undefined;
  }
  return secret;
}

function live(input: Json, ctx: SecretsContext): SecretRecord {
  const secret = purgeDue(ctx, secretOf(input, ctx));
  if (!secret) throw notFound();
  return secret;
}

function matchesFilters(secret: SecretRecord, filters: { Key: string; Values: string[] }[]): boolean {
  return filters.every(({ Key, Values }) =>
    Values.some(raw => {
      const negate = raw.startsWith('!');
      const value = negate ? raw.slice(1) : raw;
      const prefix = (s: string | undefined) => s !== undefined && s.startsWith(value);
      let hit: boolean;
      switch (Key) {
        case 'name':
          hit = prefix(secret.name);
          break;
        case 'description':
          hit = prefix(secret.description);
          break;
        case 'tag-key':
          hit = secret.tags.some(t => prefix(t.Key));
          break;
        case 'tag-value':
          hit = secret.tags.some(t => prefix(t.Value));
          break;
        default:
          hit = prefix(secret.name) || prefix(secret.description) || secret.tags.some(t => prefix(t.Key) || prefix(t.Value));
      }
      return negate ? !hit : hit;
    }),
  );
}

const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];

/** Handlers per operation: JSON input in, JSON output out, {@link AwsError} on failure. */
export const secretsHandlers: Record<SecretsOperation, (input: Json, ctx: SecretsContext) => Json> = {
  CreateSecret(input, ctx) {
    const name = optionalString(input, 'Name');
    if (!name || !NAME.test(name)) {
      throw invalidParameter('Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    }
    const existing = purgeDue(ctx, ctx.db.secrets.byName(name));
    const version = versionOf(input, ['AWSCURRENT']);
    if (existing) {
      if (existing.deletedDate) {
        throw invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
      }
      const same = existing.versions.find(v => v.versionId === version.versionId);
      if (same && same.secretString === version.secretString && same.secretBinary === version.secretBinary) {
        return { ARN: existing.arn, Name: existing.name, VersionId: same.versionId };
      }
      throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const at = now();
    const secret: SecretRecord = {
      arn: `arn:${partitionOf(ctx.region)}:secretsmanager:${ctx.region}:${SANDBOX_ACCOUNT_ID}:secret:${name}-${randomString('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 6)}`,
      name,
      ...(optionalString(input, 'Description') !== undefined ? { description: optionalString(input, 'Description') } : {}),
      ...(optionalString(input, 'KmsKeyId') ? { kmsKeyId: optionalString(input, 'KmsKeyId') } : {}),
      tags: mergeTags([], tagsOf(input)),
      createdDate: at,
      lastChangedDate: at,
      versions: version.secretString !== undefined || version.secretBinary !== undefined ? [version] : [],
    };
    ctx.db.secrets.put(secret);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.versions.length ? { VersionId: version.versionId } : {}),
    };
  },

  GetSecretValue(input, ctx) {
    const secret = live(input, ctx);
    if (secret.deletedDate) throw markedForDeletion();
    const version = versionAsked(secret, input);
    ctx.db.secrets.put({ ...secret, lastAccessedDate: Math.floor(now() / DAY) * DAY });
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
      VersionStages: version.stages,
      CreatedDate: version.createdDate,
    };
  },

  DescribeSecret(input, ctx) {
    return describe(live(input, ctx));
  },

  PutSecretValue(input, ctx) {
    const secret = live(input, ctx);
    if (secret.deletedDate) throw markedForDeletion();
    const version = versionOf(input, ['AWSCURRENT']);
    if (version.secretString === undefined && version.secretBinary === undefined) {
      throw invalidParameter('You must provide either SecretString or SecretBinary.');
    }
    const same = secret.versions.find(v => v.versionId === version.versionId);
    if (same) {
      if (same.secretString !== version.secretString || same.secretBinary !== version.secretBinary) {
        throw new AwsError('ResourceExistsException', 'You can\'t modify an existing version, you can only create a new version.');
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: same.versionId, VersionStages: same.stages };
    }
    const versions = secret.versions
      .map(v => {
        const stages = v.stages.filter(s => s !== 'AWSPREVIOUS' && s !== 'AWSCURRENT');
        if (v.stages.includes('AWSCURRENT')) stages.push('AWSPREVIOUS');
        return { ...v, stages };
      })
      // Versions without a label are removed eventually; the sandbox keeps the last ten.
      .filter((v, i, all) => v.stages.length > 0 || i >= all.length - 10);
    ctx.db.secrets.put({ ...secret, versions: [...versions, version], lastChangedDate: now() });
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: version.stages };
  },

  DeleteSecret(input, ctx) {
    const secret = live(input, ctx);
    const force = input.ForceDeleteWithoutRecovery === true;
    const window = input.RecoveryWindowInDays;
    if (force && window !== undefined && window !== null) {
      throw invalidParameter(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    if (force) {
      ctx.db.secrets.delete(secret.arn);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: now() };
    }
    const days = window === undefined || window === null ? 30 : Number(window);
    if (!Number.isInteger(days) || days < 7 || days > 30) {
      throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    if (secret.deletedDate) return { ARN: secret.arn, Name: secret.name, DeletionDate: secret.deletedDate };
    const deletedDate = now() + days * DAY;
    ctx.db.secrets.put({ ...secret, deletedDate, lastChangedDate: now() });
    return { ARN: secret.arn, Name: secret.name, DeletionDate: deletedDate };
  },

  RestoreSecret(input, ctx) {
    const secret = live(input, ctx);
    const { deletedDate: _d, ...restored } = secret;
    ctx.db.secrets.put({ ...restored, lastChangedDate: now() });
    return { ARN: secret.arn, Name: secret.name };
  },

  ListSecrets(input, ctx) {
    const raw = input.Filters ?? [];
    if (!Array.isArray(raw)) throw invalidParameter('Filters must be a list.');
    const filters = raw.map(f => {
      const filter = f as Json;
      if (typeof filter?.Key !== 'string' || !FILTER_KEYS.includes(filter.Key)) {
        throw invalidParameter(`Invalid filter key. Valid keys: ${FILTER_KEYS.join(', ')}.`);
      }
      if (!Array.isArray(filter.Values) || filter.Values.some(v => typeof v !== 'string')) {
        throw invalidParameter('Filter values must be a list of strings.');
      }
      return { Key: filter.Key, Values: filter.Values as string[] };
    });
    const max = input.MaxResults === undefined ? 100 : Number(input.MaxResults);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw invalidParameter('MaxResults must be between 1 and 100.');
    const after = optionalString(input, 'NextToken');
    const start = after ? Buffer.from(after, 'base64url').toString('utf8') : undefined;
    const includeDeleted = input.IncludePlannedDeletion === true;
    const all = ctx.db.secrets
      .list()
      .flatMap(s => purgeDue(ctx, s) ?? [])
      .filter(s => includeDeleted || !s.deletedDate)
      .filter(s => matchesFilters(s, filters))
      .sort((a, b) => Number(a.name > b.name) - Number(a.name < b.name))
      .filter(s => start === undefined || s.name > start);
    const page = all.slice(0, max);
    return {
      SecretList: page.map(s => {
        const { VersionIdsToStages, ...rest } = describe(s);
        return { ...rest, SecretVersionsToStages: VersionIdsToStages };
      }),
      ...(all.length > max ? { NextToken: Buffer.from(page[page.length - 1].name).toString('base64url') } : {}),
    };
  },

  TagResource(input, ctx) {
    const secret = live(input, ctx);
    const tags = tagsOf(input);
    if (tags.length === 0) throw invalidParameter('Tags must not be empty.');
    ctx.db.secrets.put({ ...secret, tags: mergeTags(secret.tags, tags) });
    return {};
  },

  UntagResource(input, ctx) {
    const secret = live(input, ctx);
    const keys = input.TagKeys;
    if (!Array.isArray(keys)) throw invalidParameter('TagKeys must be a list.');
    ctx.db.secrets.put({ ...secret, tags: secret.tags.filter(t => !keys.includes(t.Key)) });
    return {};
  },
};
