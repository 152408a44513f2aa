import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DeleteUserCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
  isError,
} from '@backstage/errors';
import { GoldenPathSettings, readAwsSettings } from '../config';
import { awsPartition, renderEcrLifecyclePolicy } from './ecr';
import { AwsRegistryApi, EcrRepository, IamPolicy, IamRole } from './types';

/** Options of {@link AwsRegistryClient}'s constructor. */
export interface AwsRegistryClientOptions {
  ecr: ECRClient;
  iam: IAMClient;
  /** 12-digit id of the account that holds the repositories and policies. */
  accountId: string;
  region: string;
  /** ECR lifecycle policy put on every new repository (serialised with JSON.stringify). */
  lifecyclePolicy: object;
  /** Optional; used for creation notices and for cleanup steps that fail. */
  logger?: LoggerService;
}

/**
 * Credentials for an endpoint override (local sandbox) when the default
 * chain finds none. Never used against real AWS.
 */
const SANDBOX_CREDENTIALS = {
  accessKeyId: 'sandbox-access-key-id',
  secretAccessKey: 'sandbox-secret-access-key',
};

type Tags = Record<string, string>;

function toTagList(tags: Tags): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function fromTagList(
  list: Array<{ Key?: string; Value?: string }> | undefined,
): Tags {
  const tags: Tags = {};
  for (const { Key, Value } of list ?? []) {
    if (Key !== undefined) tags[Key] = Value ?? '';
  }
  return tags;
}

/**
 * THE mapping from AWS SDK errors to Backstage errors. `what` names the
 * operation and the resource ("create ECR repository 'x'"); AWS error
 * messages never carry credentials, and callers never put secrets in `what`.
 */
function toBackstageError(error: unknown, what: string): Error {
  // Modeled exceptions carry the code in `name` (with an `Exception`
  // suffix in SDK v3); unmodeled ones carry the bare AWS code.
  const name = isError(error) ? error.name : '';
  const code = name.replace(/Exception$/, '');
  const message = `Could not ${what}`;
  if (code === 'RepositoryNotFound' || code === 'NoSuchEntity') {
    return new NotFoundError(`${message}: it does not exist`, error);
  }
  if (code === 'RepositoryAlreadyExists' || code === 'EntityAlreadyExists') {
    return new ConflictError(`${message}: it already exists`, error);
  }
  if (code.startsWith('AccessDenied') || code === 'UnauthorizedOperation') {
    return new NotAllowedError(`${message}: access denied`, error);
  }
  if (
    code.startsWith('InvalidParameter') ||
    code.startsWith('InvalidInput') ||
    code === 'MalformedPolicyDocument' ||
    code === 'ValidationError' ||
    code === 'Validation'
  ) {
    return new InputError(`${message}: invalid input`, error);
  }
  return new ForwardedError(message, error);
}

/** Runs one AWS call; failures come out as Backstage errors. */
async function attempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toBackstageError(error, what);
  }
}

/** Like {@link attempt}, but a missing resource yields undefined. */
async function unlessMissing<T>(
  what: string,
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await attempt(what, call);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * Every page of an IAM list call (they all page with IsTruncated/Marker).
 * Each page gets a fresh input object.
 */
async function allPages<P extends { IsTruncated?: boolean; Marker?: string }>(
  fetchPage: (marker: string | undefined) => Promise<P>,
): Promise<P[]> {
  const pages: P[] = [];
  let marker: string | undefined;
  do {
    const page = await fetchPage(marker);
    pages.push(page);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return pages;
}

/** ECR repositories and per-app IAM policies and CI users, through the AWS SDK v3. */
export class AwsRegistryClient implements AwsRegistryApi {
  /**
   * Reads `goldenPath.aws.accountId`, `goldenPath.aws.region` and the optional
   * `goldenPath.aws.endpoint` (used for both ECR and IAM). Credentials come
   * from the default chain; with an endpoint override only, dummy credentials
   * are used when the chain finds none.
   */
  static fromConfig(
    config: Config,
    options: { logger?: LoggerService } = {},
  ): AwsRegistryClient {
    return AwsRegistryClient.fromSettings(readAwsSettings(config), options);
  }

  /** From settings read once (see {@link readAwsSettings}). */
  static fromSettings(
    settings: GoldenPathSettings['aws'],
    options: { logger?: LoggerService } = {},
  ): AwsRegistryClient {
    const { accountId, region, endpoint } = settings;

    let clientConfig: {
      region: string;
      endpoint?: string;
      credentials?: () => Promise<{
        accessKeyId: string;
        secretAccessKey: string;
        sessionToken?: string;
      }>;
    } = { region };
    if (endpoint) {
      // A client built without credentials resolves the SDK's default chain.
      const defaultChain = new IAMClient({ region }).config.credentials;
      clientConfig = {
        region,
        endpoint,
        credentials: async () => {
          try {
            return await defaultChain();
          } catch {
            return SANDBOX_CREDENTIALS;
          }
        },
      };
    }

    return new AwsRegistryClient({
      ecr: new ECRClient(clientConfig),
      iam: new IAMClient(clientConfig),
      accountId,
      region,
      lifecyclePolicy: renderEcrLifecyclePolicy(),
      logger: options.logger,
    });
  }

  private readonly ecr: ECRClient;
  private readonly iam: IAMClient;
  private readonly accountId: string;
  private readonly region: string;
  private readonly lifecyclePolicyText: string;
  private readonly logger?: LoggerService;

  constructor(options: AwsRegistryClientOptions) {
    this.ecr = options.ecr;
    this.iam = options.iam;
    this.accountId = options.accountId;
    this.region = options.region;
    this.lifecyclePolicyText = JSON.stringify(options.lifecyclePolicy);
    this.logger = options.logger;
  }

  async findRepository(name: string): Promise<EcrRepository | undefined> {
    const what = `find ECR repository '${name}'`;
    const described = await unlessMissing(what, () =>
      this.ecr.send(
        new DescribeRepositoriesCommand({
          registryId: this.accountId,
          repositoryNames: [name],
        }),
      ),
    );
    const repository = described?.repositories?.find(
      r => r.repositoryName === name,
    );
    if (!repository?.repositoryArn) return undefined;
    const arn = repository.repositoryArn;
    const tagged = await unlessMissing(
      `list tags of ECR repository '${name}'`,
      () => this.ecr.send(new ListTagsForResourceCommand({ resourceArn: arn })),
    );
    if (!tagged) return undefined;
    return {
      name,
      arn,
      uri: repository.repositoryUri ?? '',
      tags: fromTagList(tagged.tags),
    };
  }

  async createRepository(name: string, tags: Tags): Promise<EcrRepository> {
    const created = await attempt(`create ECR repository '${name}'`, () =>
      this.ecr.send(
        new CreateRepositoryCommand({
          registryId: this.accountId,
          repositoryName: name,
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfiguration: { encryptionType: 'AES256' },
          tags: toTagList(tags),
        }),
      ),
    );
    try {
      const arn = created.repository?.repositoryArn;
      const uri = created.repository?.repositoryUri;
      if (!arn || !uri) {
        throw new Error(
          `AWS returned no ARN or URI for new ECR repository '${name}'`,
        );
      }
      await attempt(`put lifecycle policy on ECR repository '${name}'`, () =>
        this.ecr.send(
          new PutLifecyclePolicyCommand({
            registryId: this.accountId,
            repositoryName: name,
            lifecyclePolicyText: this.lifecyclePolicyText,
          }),
        ),
      );
      this.logger?.info(`Created ECR repository '${name}'`);
      return { name, arn, uri, tags: { ...tags } };
    } catch (error) {
      // No half-made repositories: remove the one just created.
      await this.undo(`delete ECR repository '${name}'`, () =>
        this.ecr.send(
          new DeleteRepositoryCommand({
            registryId: this.accountId,
            repositoryName: name,
            force: true,
          }),
        ),
      );
      throw error;
    }
  }

  async deleteRepository(name: string): Promise<void> {
    await unlessMissing(`delete ECR repository '${name}'`, () =>
      this.ecr.send(
        new DeleteRepositoryCommand({
          registryId: this.accountId,
          repositoryName: name,
          force: true,
        }),
      ),
    );
  }

  async findPolicy(policyName: string): Promise<IamPolicy | undefined> {
    const arn = this.policyArn(policyName);
    const found = await unlessMissing(`find IAM policy '${policyName}'`, () =>
      this.iam.send(new GetPolicyCommand({ PolicyArn: arn })),
    );
    if (!found?.Policy) return undefined;
    const tags = await unlessMissing(
      `list tags of IAM policy '${policyName}'`,
      () =>
        allPages(Marker =>
          this.iam.send(new ListPolicyTagsCommand({ PolicyArn: arn, Marker })),
        ),
    );
    if (!tags) return undefined;
    return {
      name: found.Policy.PolicyName ?? policyName,
      arn: found.Policy.Arn ?? arn,
      tags: fromTagList(tags.flatMap(page => page.Tags ?? [])),
    };
  }

  async createPolicy(
    policyName: string,
    document: object,
    tags: Tags,
  ): Promise<IamPolicy> {
    const created = await attempt(`create IAM policy '${policyName}'`, () =>
      this.iam.send(
        new CreatePolicyCommand({
          PolicyName: policyName,
          PolicyDocument: JSON.stringify(document),
          Tags: toTagList(tags),
        }),
      ),
    );
    this.logger?.info(`Created IAM policy '${policyName}'`);
    return {
      name: policyName,
      arn: created.Policy?.Arn ?? this.policyArn(policyName),
      tags: { ...tags },
    };
  }

  /**
   * Detaches the policy from every user, role and group, deletes its
   * non-default versions, then deletes it. A missing policy ends the work
   * (it is gone); a missing user/role/group/version is skipped.
   */
  async deletePolicy(policyArn: string): Promise<void> {
    const policy = `IAM policy '${policyArn}'`;
    const entities = await unlessMissing(`list entities of ${policy}`, () =>
      allPages(Marker =>
        this.iam.send(
          new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, Marker }),
        ),
      ),
    );
    if (!entities) return;

    for (const page of entities) {
      for (const { UserName } of page.PolicyUsers ?? []) {
        await unlessMissing(`detach ${policy} from user '${UserName}'`, () =>
          this.iam.send(
            new DetachUserPolicyCommand({ PolicyArn: policyArn, UserName }),
          ),
        );
      }
      for (const { RoleName } of page.PolicyRoles ?? []) {
        await unlessMissing(`detach ${policy} from role '${RoleName}'`, () =>
          this.iam.send(
            new DetachRolePolicyCommand({ PolicyArn: policyArn, RoleName }),
          ),
        );
      }
      for (const { GroupName } of page.PolicyGroups ?? []) {
        await unlessMissing(`detach ${policy} from group '${GroupName}'`, () =>
          this.iam.send(
            new DetachGroupPolicyCommand({ PolicyArn: policyArn, GroupName }),
          ),
        );
      }
    }

    const versions = await unlessMissing(`list versions of ${policy}`, () =>
      allPages(Marker =>
        this.iam.send(
          new ListPolicyVersionsCommand({ PolicyArn: policyArn, Marker }),
        ),
      ),
    );
    if (!versions) return;
    for (const { VersionId, IsDefaultVersion } of versions.flatMap(
      page => page.Versions ?? [],
    )) {
      if (IsDefaultVersion || !VersionId) continue;
      await unlessMissing(`delete version ${VersionId} of ${policy}`, () =>
        this.iam.send(
          new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId }),
        ),
      );
    }

    await unlessMissing(`delete ${policy}`, () =>
      this.iam.send(new DeletePolicyCommand({ PolicyArn: policyArn })),
    );
  }

  async ensurePolicy(
    policyName: string,
    document: object,
    tags: Tags,
  ): Promise<IamPolicy> {
    const found = await this.findPolicy(policyName);
    if (found) return found;
    try {
      return await this.createPolicy(policyName, document, tags);
    } catch (error) {
      // Another Create made it a moment ago: that one is as good.
      if (!(error instanceof ConflictError)) throw error;
      const made = await this.findPolicy(policyName);
      if (!made) throw error;
      return made;
    }
  }

  async findRole(roleName: string): Promise<IamRole | undefined> {
    const found = await unlessMissing(`get IAM role '${roleName}'`, () =>
      this.iam.send(new GetRoleCommand({ RoleName: roleName })),
    );
    const role = found?.Role;
    if (!role?.Arn) return undefined;
    let trustPolicy: object = {};
    try {
      // IAM returns policy documents URL-encoded (RFC 3986).
      trustPolicy = JSON.parse(
        decodeURIComponent(role.AssumeRolePolicyDocument ?? '%7B%7D'),
      );
    } catch {
      trustPolicy = {};
    }
    return {
      name: role.RoleName ?? roleName,
      arn: role.Arn,
      tags: fromTagList(role.Tags),
      permissionsBoundaryArn:
        role.PermissionsBoundary?.PermissionsBoundaryArn,
      trustPolicy,
    };
  }

  async createRole(
    roleName: string,
    opts: {
      trustPolicy: object;
      boundaryArn: string;
      policyArns: string[];
      tags: Tags;
      description: string;
    },
  ): Promise<IamRole> {
    const role = `IAM role '${roleName}'`;
    const created = await attempt(`create ${role}`, () =>
      this.iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          AssumeRolePolicyDocument: JSON.stringify(opts.trustPolicy),
          PermissionsBoundary: opts.boundaryArn,
          Description: opts.description,
          Tags: toTagList(opts.tags),
        }),
      ),
    );
    const attached: string[] = [];
    try {
      for (const policyArn of opts.policyArns) {
        await attempt(`attach IAM policy '${policyArn}' to ${role}`, () =>
          this.iam.send(
            new AttachRolePolicyCommand({
              RoleName: roleName,
              PolicyArn: policyArn,
            }),
          ),
        );
        attached.push(policyArn);
      }
    } catch (error) {
      // No half-made roles: detach what was attached, delete the role.
      for (const policyArn of attached.reverse()) {
        await this.undo(`detach IAM policy '${policyArn}' from ${role}`, () =>
          this.iam.send(
            new DetachRolePolicyCommand({
              RoleName: roleName,
              PolicyArn: policyArn,
            }),
          ),
        );
      }
      await this.undo(`delete ${role}`, () =>
        this.iam.send(new DeleteRoleCommand({ RoleName: roleName })),
      );
      throw error;
    }
    this.logger?.info(
      `Created ${role} with permissions boundary '${opts.boundaryArn}'`,
    );
    return {
      name: roleName,
      arn: created.Role?.Arn ?? this.roleArn(roleName),
      tags: { ...opts.tags },
      permissionsBoundaryArn: opts.boundaryArn,
      trustPolicy: opts.trustPolicy,
    };
  }

  async deleteRole(roleName: string): Promise<void> {
    const role = `IAM role '${roleName}'`;
    const policies = await unlessMissing(`list policies of ${role}`, () =>
      allPages(Marker =>
        this.iam.send(
          new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker }),
        ),
      ),
    );
    if (!policies) return;
    for (const { PolicyArn } of policies.flatMap(
      page => page.AttachedPolicies ?? [],
    )) {
      if (!PolicyArn) continue;
      await unlessMissing(`detach IAM policy '${PolicyArn}' from ${role}`, () =>
        this.iam.send(
          new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn }),
        ),
      );
    }
    await unlessMissing(`delete ${role}`, () =>
      this.iam.send(new DeleteRoleCommand({ RoleName: roleName })),
    );
  }

  async createCiUser(
    userName: string,
    policyArn: string,
    tags: Tags,
    boundaryArn?: string,
  ): Promise<{
    userName: string;
    accessKeyId: string;
    secretAccessKey: string;
  }> {
    const user = `IAM user '${userName}'`;
    await attempt(`create ${user}`, () =>
      this.iam.send(
        new CreateUserCommand({
          UserName: userName,
          Tags: toTagList(tags),
          ...(boundaryArn ? { PermissionsBoundary: boundaryArn } : {}),
        }),
      ),
    );

    let attached = false;
    let accessKeyId: string | undefined;
    try {
      await attempt(`attach IAM policy '${policyArn}' to ${user}`, () =>
        this.iam.send(
          new AttachUserPolicyCommand({
            UserName: userName,
            PolicyArn: policyArn,
          }),
        ),
      );
      attached = true;
      const { AccessKey } = await attempt(`create access key for ${user}`, () =>
        this.iam.send(new CreateAccessKeyCommand({ UserName: userName })),
      );
      accessKeyId = AccessKey?.AccessKeyId;
      const secretAccessKey = AccessKey?.SecretAccessKey;
      if (!accessKeyId || !secretAccessKey) {
        throw new Error(`AWS returned an incomplete access key for ${user}`);
      }
      this.logger?.info(`Created ${user} with one access key`);
      return { userName, accessKeyId, secretAccessKey };
    } catch (error) {
      // Undo in reverse order; the original error is what the caller sees.
      const keyId = accessKeyId;
      if (keyId) {
        await this.undo(`delete access key of ${user}`, () =>
          this.iam.send(
            new DeleteAccessKeyCommand({
              UserName: userName,
              AccessKeyId: keyId,
            }),
          ),
        );
      }
      if (attached) {
        await this.undo(`detach IAM policy '${policyArn}' from ${user}`, () =>
          this.iam.send(
            new DetachUserPolicyCommand({
              UserName: userName,
              PolicyArn: policyArn,
            }),
          ),
        );
      }
      await this.undo(`delete ${user}`, () =>
        this.iam.send(new DeleteUserCommand({ UserName: userName })),
      );
      throw error;
    }
  }

  async deleteCiUser(userName: string): Promise<void> {
    const user = `IAM user '${userName}'`;
    const keys = await unlessMissing(`list access keys of ${user}`, () =>
      allPages(Marker =>
        this.iam.send(
          new ListAccessKeysCommand({ UserName: userName, Marker }),
        ),
      ),
    );
    if (!keys) return;
    for (const { AccessKeyId } of keys.flatMap(
      page => page.AccessKeyMetadata ?? [],
    )) {
      if (!AccessKeyId) continue;
      await unlessMissing(`delete access key of ${user}`, () =>
        this.iam.send(
          new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId }),
        ),
      );
    }

    const policies = await unlessMissing(`list policies of ${user}`, () =>
      allPages(Marker =>
        this.iam.send(
          new ListAttachedUserPoliciesCommand({ UserName: userName, Marker }),
        ),
      ),
    );
    if (!policies) return;
    for (const { PolicyArn } of policies.flatMap(
      page => page.AttachedPolicies ?? [],
    )) {
      if (!PolicyArn) continue;
      await unlessMissing(`detach IAM policy '${PolicyArn}' from ${user}`, () =>
        this.iam.send(
          new DetachUserPolicyCommand({ UserName: userName, PolicyArn }),
        ),
      );
    }

    await unlessMissing(`delete ${user}`, () =>
      this.iam.send(new DeleteUserCommand({ UserName: userName })),
    );
  }

  async userExists(userName: string): Promise<boolean> {
    const found = await unlessMissing(`get IAM user '${userName}'`, () =>
      this.iam.send(new GetUserCommand({ UserName: userName })),
    );
    return found !== undefined;
  }

  async findCiUser(
    userName: string,
  ): Promise<{ userName: string; tags: Record<string, string> } | undefined> {
    const found = await unlessMissing(`get IAM user '${userName}'`, () =>
      this.iam.send(new GetUserCommand({ UserName: userName })),
    );
    if (!found?.User) return undefined;
    return {
      userName,
      tags: Object.fromEntries(
        (found.User.Tags ?? []).map(t => [t.Key ?? '', t.Value ?? '']),
      ),
    };
  }

  private policyArn(policyName: string): string {
    const partition = awsPartition(this.region);
    return `arn:${partition}:iam::${this.accountId}:policy/${policyName}`;
  }

  private roleArn(roleName: string): string {
    const partition = awsPartition(this.region);
    return `arn:${partition}:iam::${this.accountId}:role/${roleName}`;
  }

  /** A cleanup step: missing is fine, other failures are logged, never thrown. */
  private async undo(what: string, call: () => Promise<unknown>) {
    try {
      await unlessMissing(what, call);
    } catch (error) {
      const reason = isError(error) ? error.message : `Could not ${what}`;
      this.logger?.warn(`Cleanup left a resource behind: ${reason}`);
    }
  }
}
