import { AwsError } from './errors';
import {
  AwsDb,
  EcrRepositoryRecord,
  SANDBOX_ACCOUNT_ID,
  Tag,
  partitionOf,
} from './state';

/** `X-Amz-Target` prefix of every ECR operation (JSON 1.1 protocol). */
export const ECR_TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

/**
 * The ECR operations the fake answers, by their `X-Amz-Target` suffix.
 * Any other target gets `UnknownOperationException`.
 */
export const ECR_OPERATIONS = [
  'CreateRepository',
  'DescribeRepositories',
  'DeleteRepository',
  'ListTagsForResource',
  'TagResource',
  'UntagResource',
  'PutLifecyclePolicy',
  'GetLifecyclePolicy',
  'DeleteLifecyclePolicy',
  'DescribeImages',
  'ListImages',
] as const;

export type EcrOperation = (typeof ECR_OPERATIONS)[number];

type Json = Record<string, unknown>;

export interface EcrContext {
  db: AwsDb;
  /** From the request's SigV4 credential scope. */
  region: string;
}

const REPOSITORY_NAME =
  /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_ARN =
  /^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository\/[a-z0-9._/-]+$/;
const TAG_MUTABILITY = [
  'MUTABLE',
  'IMMUTABLE',
  'IMMUTABLE_WITH_EXCLUSION',
  'MUTABLE_WITH_EXCLUSION',
];
const ENCRYPTION_TYPES = ['AES256', 'KMS', 'KMS_DSSE'];
const MAX_LIFECYCLE_POLICY_LENGTH = 30720;

function invalid(parameter: string, constraint: string): AwsError {
  return new AwsError(
    'InvalidParameterException',
    `Invalid parameter at '${parameter}' failed to satisfy constraint: '${constraint}'`,
  );
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(key, 'Member must be a string');
  return value;
}

function requiredString(input: Json, key: string): string {
  const value = optionalString(input, key);
  if (value === undefined || value === '') {
    throw invalid(key, 'Member must not be null');
  }
  return value;
}

function registryIdOf(input: Json): string {
  const registryId = optionalString(input, 'registryId') ?? SANDBOX_ACCOUNT_ID;
  if (!/^\d{12}$/.test(registryId)) {
    throw invalid('registryId', "must satisfy regular expression '[0-9]{12}'");
  }
  return registryId;
}

function repositoryNameOf(input: Json): string {
  const name = requiredString(input, 'repositoryName');
  if (name.length < 2 || name.length > 256 || !REPOSITORY_NAME.test(name)) {
    throw invalid(
      'repositoryName',
      "must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*' and be 2 to 256 characters long",
    );
  }
  return name;
}

function tagsOf(input: Json, key: string): Tag[] {
  const value = input[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(key, 'Member must be a list');
  return value.map((tag, i) => {
    if (!isObject(tag) || typeof tag.Key !== 'string' || tag.Key === '') {
      throw invalid(`${key}.${i + 1}.member.Key`, 'Member must not be null');
    }
    if (tag.Key.length > 128) {
      throw invalid(
        `${key}.${i + 1}.member.Key`,
        'Member must have length less than or equal to 128',
      );
    }
    const tagValue = tag.Value ?? '';
    if (typeof tagValue !== 'string' || tagValue.length > 256) {
      throw invalid(
        `${key}.${i + 1}.member.Value`,
        'Member must be a string of at most 256 characters',
      );
    }
    return { Key: tag.Key, Value: tagValue };
  });
}

/** Tags from `incoming` replace same-key tags in `current`. */
function mergeTags(current: Tag[], incoming: Tag[]): Tag[] {
  const byKey = new Map(current.map(t => [t.Key, t.Value]));
  for (const t of incoming) byKey.set(t.Key, t.Value);
  if (byKey.size > 50)
    throw invalid('tags', 'Member must have at most 50 tags');
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

function repositoryArn(region: string, registryId: string, name: string) {
  return `arn:${partitionOf(
    region,
  )}:ecr:${region}:${registryId}:repository/${name}`;
}

function repositoryUri(region: string, registryId: string, name: string) {
  const suffix = region.startsWith('cn-')
    ? 'amazonaws.com.cn'
    : 'amazonaws.com';
  return `${registryId}.dkr.ecr.${region}.${suffix}/${name}`;
}

function notFound(name: string, registryId: string): AwsError {
  return new AwsError(
    'RepositoryNotFoundException',
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
  );
}

/** The repository named by `registryId` + `repositoryName` in the request's region. */
function findRepository(input: Json, ctx: EcrContext): EcrRepositoryRecord {
  const registryId = registryIdOf(input);
  const name = repositoryNameOf(input);
  const repository = ctx.db.repositories.get(
    repositoryArn(ctx.region, registryId, name),
  );
  if (!repository) throw notFound(name, registryId);
  return repository;
}

function byArn(input: Json, ctx: EcrContext): EcrRepositoryRecord {
  const arn = requiredString(input, 'resourceArn');
  if (!REPOSITORY_ARN.test(arn)) throw invalid('resourceArn', 'Invalid ARN');
  const repository = ctx.db.repositories.get(arn);
  if (!repository) {
    const [, , , , account, resource] = arn.split(':');
    throw notFound(resource.slice('repository/'.length), account);
  }
  return repository;
}

/** The `Repository` shape of ECR's responses. */
function repositoryView(r: EcrRepositoryRecord): Json {
  return {
    repositoryArn: r.arn,
    registryId: r.registryId,
    repositoryName: r.name,
    repositoryUri: r.uri,
    createdAt: r.createdAt,
    imageTagMutability: r.imageTagMutability,
    ...(r.imageTagMutabilityExclusionFilters
      ? {
          imageTagMutabilityExclusionFilters:
            r.imageTagMutabilityExclusionFilters,
        }
      : {}),
    imageScanningConfiguration: r.imageScanningConfiguration,
    encryptionConfiguration: r.encryptionConfiguration,
  };
}

/** Checks what ECR checks of a lifecycle policy before storing it. */
function validateLifecyclePolicy(text: string): void {
  const bad = (why: string) => invalid('lifecyclePolicyText', why);
  if (text.length > MAX_LIFECYCLE_POLICY_LENGTH) {
    throw bad(
      `Member must have length less than or equal to ${MAX_LIFECYCLE_POLICY_LENGTH}`,
    );
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw bad('Lifecycle policy is not valid JSON');
  }
  if (
    !isObject(policy) ||
    !Array.isArray(policy.rules) ||
    policy.rules.length === 0
  ) {
    throw bad('Lifecycle policy must have a non-empty "rules" list');
  }
  const priorities = new Set<number>();
  for (const rule of policy.rules) {
    if (!isObject(rule)) throw bad('Each rule must be an object');
    const priority = rule.rulePriority;
    if (
      typeof priority !== 'number' ||
      !Number.isInteger(priority) ||
      priority < 1
    ) {
      throw bad('rulePriority must be a positive integer');
    }
    if (priorities.has(priority))
      throw bad(`rulePriority ${priority} is used twice`);
    priorities.add(priority);
    const selection = rule.selection;
    if (
      !isObject(selection) ||
      !['tagged', 'untagged', 'any'].includes(String(selection.tagStatus)) ||
      !['imageCountMoreThan', 'sinceImagePushed'].includes(
        String(selection.countType),
      ) ||
      typeof selection.countNumber !== 'number' ||
      selection.countNumber < 1
    ) {
      throw bad(`Rule ${priority} has an invalid selection`);
    }
    if (!isObject(rule.action) || rule.action.type !== 'expire') {
      throw bad(`Rule ${priority} must have action {"type":"expire"}`);
    }
  }
}

const nowSeconds = () => Date.now() / 1000;

/** Handlers per operation: JSON input in, JSON output out, {@link AwsError} on failure. */
export const ecrHandlers: Record<
  EcrOperation,
  (input: Json, ctx: EcrContext) => Json
> = {
  CreateRepository(input, ctx) {
    const registryId = registryIdOf(input);
    const name = repositoryNameOf(input);
    const arn = repositoryArn(ctx.region, registryId, name);
    if (ctx.db.repositories.get(arn)) {
      throw new AwsError(
        'RepositoryAlreadyExistsException',
        `The repository with name '${name}' already exists in the registry with id '${registryId}'`,
      );
    }
    const imageTagMutability =
      optionalString(input, 'imageTagMutability') ?? 'MUTABLE';
    if (!TAG_MUTABILITY.includes(imageTagMutability)) {
      throw invalid(
        'imageTagMutability',
        `Member must satisfy enum value set: [${TAG_MUTABILITY.join(', ')}]`,
      );
    }
    const filters = input.imageTagMutabilityExclusionFilters;
    if (filters !== undefined && filters !== null && !Array.isArray(filters)) {
      throw invalid(
        'imageTagMutabilityExclusionFilters',
        'Member must be a list',
      );
    }
    const scanning = input.imageScanningConfiguration ?? {};
    if (!isObject(scanning))
      throw invalid('imageScanningConfiguration', 'Member must be a structure');
    const encryption = input.encryptionConfiguration ?? {
      encryptionType: 'AES256',
    };
    if (
      !isObject(encryption) ||
      !ENCRYPTION_TYPES.includes(String(encryption.encryptionType))
    ) {
      throw invalid(
        'encryptionConfiguration.encryptionType',
        `Member must satisfy enum value set: [${ENCRYPTION_TYPES.join(', ')}]`,
      );
    }
    const kmsKey = optionalString(encryption, 'kmsKey');
    if (kmsKey && encryption.encryptionType === 'AES256') {
      throw invalid(
        'encryptionConfiguration.kmsKey',
        'kmsKey is only allowed with KMS encryption',
      );
    }
    const repository: EcrRepositoryRecord = {
      arn,
      registryId,
      region: ctx.region,
      name,
      uri: repositoryUri(ctx.region, registryId, name),
      createdAt: nowSeconds(),
      imageTagMutability,
      ...(Array.isArray(filters)
        ? { imageTagMutabilityExclusionFilters: filters }
        : {}),
      imageScanningConfiguration: { scanOnPush: scanning.scanOnPush === true },
      encryptionConfiguration: {
        encryptionType: String(encryption.encryptionType),
        ...(kmsKey ? { kmsKey } : {}),
      },
      tags: mergeTags([], tagsOf(input, 'tags')),
    };
    ctx.db.repositories.put(repository);
    return { repository: repositoryView(repository) };
  },

  DescribeRepositories(input, ctx) {
    const registryId = registryIdOf(input);
    const names = input.repositoryNames;
    if (names === undefined || names === null) {
      // Every repository, by name, a page at a time (`maxResults` 1-1000, `nextToken`).
      const maxResults = input.maxResults ?? 1000;
      if (
        typeof maxResults !== 'number' ||
        !Number.isInteger(maxResults) ||
        maxResults < 1 ||
        maxResults > 1000
      ) {
        throw invalid(
          'maxResults',
          'Member must have value between 1 and 1000',
        );
      }
      const after = optionalString(input, 'nextToken');
      const start = after
        ? Buffer.from(after, 'base64url').toString('utf8')
        : undefined;
      const all = ctx.db.repositories
        .list({ parent: `${registryId}:${ctx.region}` })
        .sort((a, b) => Number(a.name > b.name) - Number(a.name < b.name))
        .filter(r => start === undefined || r.name > start);
      const page = all.slice(0, maxResults);
      return {
        repositories: page.map(repositoryView),
        ...(all.length > maxResults
          ? {
              nextToken: Buffer.from(page[page.length - 1].name).toString(
                'base64url',
              ),
            }
          : {}),
      };
    }
    if (!Array.isArray(names) || names.length === 0 || names.length > 100) {
      throw invalid(
        'repositoryNames',
        'Member must be a list of 1 to 100 names',
      );
    }
    const repositories = names.map(name =>
      repositoryView(findRepository({ registryId, repositoryName: name }, ctx)),
    );
    return { repositories };
  },

  DeleteRepository(input, ctx) {
    // No images are ever pushed to the sandbox, so `force` changes nothing.
    const repository = findRepository(input, ctx);
    ctx.db.repositories.delete(repository.arn);
    return { repository: repositoryView(repository) };
  },

  ListTagsForResource(input, ctx) {
    return { tags: byArn(input, ctx).tags };
  },

  TagResource(input, ctx) {
    const repository = byArn(input, ctx);
    const tags = tagsOf(input, 'tags');
    if (tags.length === 0) throw invalid('tags', 'Member must not be null');
    repository.tags = mergeTags(repository.tags, tags);
    ctx.db.repositories.put(repository);
    return {};
  },

  UntagResource(input, ctx) {
    const repository = byArn(input, ctx);
    const keys = input.tagKeys;
    if (!Array.isArray(keys) || keys.length === 0) {
      throw invalid('tagKeys', 'Member must not be null');
    }
    repository.tags = repository.tags.filter(t => !keys.includes(t.Key));
    ctx.db.repositories.put(repository);
    return {};
  },

  PutLifecyclePolicy(input, ctx) {
    const repository = findRepository(input, ctx);
    const text = requiredString(input, 'lifecyclePolicyText');
    validateLifecyclePolicy(text);
    repository.lifecyclePolicyText = text;
    repository.lifecyclePolicySetAt = nowSeconds();
    ctx.db.repositories.put(repository);
    return {
      registryId: repository.registryId,
      repositoryName: repository.name,
      lifecyclePolicyText: text,
    };
  },

  GetLifecyclePolicy(input, ctx) {
    const repository = findRepository(input, ctx);
    if (repository.lifecyclePolicyText === undefined) {
      throw new AwsError(
        'LifecyclePolicyNotFoundException',
        `Lifecycle policy does not exist for the repository with name '${repository.name}' in the registry with id '${repository.registryId}'`,
      );
    }
    return {
      registryId: repository.registryId,
      repositoryName: repository.name,
      lifecyclePolicyText: repository.lifecyclePolicyText,
      lastEvaluatedAt: repository.lifecyclePolicySetAt,
    };
  },

  DeleteLifecyclePolicy(input, ctx) {
    const result = ecrHandlers.GetLifecyclePolicy(input, ctx);
    const repository = findRepository(input, ctx);
    delete repository.lifecyclePolicyText;
    delete repository.lifecyclePolicySetAt;
    ctx.db.repositories.put(repository);
    return result;
  },

  DescribeImages(input, ctx) {
    findRepository(input, ctx);
    return { imageDetails: [] };
  },

  ListImages(input, ctx) {
    findRepository(input, ctx);
    return { imageIds: [] };
  },
};
