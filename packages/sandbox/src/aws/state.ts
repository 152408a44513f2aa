import crypto from 'node:crypto';
import path from 'node:path';
import { Collection, Store } from '../store';

/** An AWS tag (a type, not an interface, so it fits XmlValue). */
export type Tag = {
  Key: string;
  Value: string;
};

export interface EcrRepositoryRecord {
  arn: string;
  registryId: string;
  region: string;
  name: string;
  uri: string;
  /** Epoch seconds, as ECR's JSON protocol sends it. */
  createdAt: number;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: unknown[];
  imageScanningConfiguration: { scanOnPush: boolean };
  encryptionConfiguration: { encryptionType: string; kmsKey?: string };
  tags: Tag[];
  lifecyclePolicyText?: string;
  /** Epoch seconds of the last PutLifecyclePolicy. */
  lifecyclePolicySetAt?: number;
}

export interface IamPolicyVersionRecord {
  versionId: string;
  /** The document as given (IAM returns it URL-encoded). */
  document: string;
  createDate: string;
}

export interface IamPolicyRecord {
  arn: string;
  name: string;
  id: string;
  path: string;
  description?: string;
  createDate: string;
  updateDate: string;
  tags: Tag[];
  defaultVersionId: string;
  versions: IamPolicyVersionRecord[];
  /** Number of the next version (`v<n>`); IAM never reuses version ids. */
  nextVersion: number;
}

export interface IamAccessKeyRecord {
  accessKeyId: string;
  /** SHA-256 (hex) of the secret; the secret itself is only ever returned once. */
  secretSha256: string;
  status: 'Active' | 'Inactive';
  createDate: string;
}

export interface IamUserRecord {
  arn: string;
  name: string;
  id: string;
  path: string;
  createDate: string;
  tags: Tag[];
  /** ARNs of the attached managed policies, in attach order. */
  attachedPolicyArns: string[];
  accessKeys: IamAccessKeyRecord[];
  permissionsBoundaryArn?: string;
}

/** An IAM OpenID Connect identity provider (a token issuer IAM trusts). */
export interface IamOidcProviderRecord {
  arn: string;
  /** The issuer URL as registered, `https://<host>[/path]`. */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  createDate: string;
  tags: Tag[];
}

export interface IamRoleRecord {
  arn: string;
  name: string;
  id: string;
  path: string;
  createDate: string;
  description?: string;
  maxSessionDuration: number;
  /** The trust policy as given. */
  assumeRolePolicyDocument: string;
  permissionsBoundaryArn?: string;
  tags: Tag[];
  /** ARNs of the attached managed policies, in attach order. */
  attachedPolicyArns: string[];
}

/** Who a managed policy is attached to (one row per attachment, filed under the policy ARN). */
export interface IamAttachmentRecord {
  policyArn: string;
  entityType: 'User' | 'Role';
  entityName: string;
}

export interface SecretVersionRecord {
  versionId: string;
  secretString?: string;
  /** Base64. */
  secretBinary?: string;
  stages: string[];
  createdDate: number;
}

export interface SecretRecord {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** Epoch seconds at which a scheduled deletion completes; the name stays taken until then. */
  deletedDate?: number;
  versions: SecretVersionRecord[];
}

/**
 * What the AWS fake keeps in `<dataDir>/aws.db` (SQLite, one row per
 * repository, policy, user, role, attachment and secret).
 */
export class AwsDb {
  readonly store: Store;
  /** ECR repositories by ARN (ARNs carry account and region). */
  readonly repositories: Collection<EcrRepositoryRecord>;
  /** IAM managed policies by ARN; `name` is the lower-case name (IAM names ignore case). */
  readonly policies: Collection<IamPolicyRecord>;
  /** IAM users by lower-case name. */
  readonly users: Collection<IamUserRecord>;
  /** IAM roles by lower-case name. */
  readonly roles: Collection<IamRoleRecord>;
  readonly attachments: Collection<IamAttachmentRecord>;
  /** IAM OIDC identity providers by ARN. */
  readonly oidcProviders: Collection<IamOidcProviderRecord>;
  /** Access key id → user name. */
  readonly accessKeys: Collection<{ accessKeyId: string; userName: string }>;
  /** Secrets Manager secrets by ARN; `name` is the secret name. */
  readonly secrets: Collection<SecretRecord>;

  constructor(dataDir: string) {
    this.store = new Store(path.join(dataDir, 'aws.db'));
    this.repositories = this.store.collection('ecr_repository', r => ({ id: r.arn, parent: `${r.registryId}:${r.region}` }));
    this.policies = this.store.collection('iam_policy', p => ({ id: p.arn, name: p.name.toLowerCase() }));
    this.users = this.store.collection('iam_user', u => ({ id: u.name.toLowerCase() }));
    this.roles = this.store.collection('iam_role', r => ({ id: r.name.toLowerCase() }));
    this.attachments = this.store.collection('iam_attachment', a => ({
      id: `${a.entityType}:${a.entityName.toLowerCase()}:${a.policyArn}`,
      parent: a.policyArn,
    }));
    this.accessKeys = this.store.collection('iam_access_key', k => ({ id: k.accessKeyId }));
    this.oidcProviders = this.store.collection('iam_oidc_provider', p => ({ id: p.arn }));
    this.secrets = this.store.collection('secret', s => ({ id: s.arn, name: s.name }));
  }

  /** Records that `policyArn` is attached to (or detached from) a user or role. */
  attach(entityType: 'User' | 'Role', entityName: string, policyArn: string, attached: boolean) {
    const record = { entityType, entityName, policyArn };
    if (attached) this.attachments.put(record);
    else this.attachments.delete(`${entityType}:${entityName.toLowerCase()}:${policyArn}`);
  }

  close() {
    this.store.close();
  }
}

/** The account every ECR call uses unless its `registryId` says otherwise, and IAM's account. */
export const SANDBOX_ACCOUNT_ID = '000000000000';
/** Region when a request carries no SigV4 credential scope. */
export const SANDBOX_DEFAULT_REGION = 'eu-west-1';

/** The ARN partition of a region, as AWS assigns them. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_CHARS =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** `length` characters drawn uniformly from `alphabet` with a CSPRNG. */
export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++)
    out += alphabet[crypto.randomInt(alphabet.length)];
  return out;
}

/** An IAM unique id: 4-letter prefix (ANPA policy, AIDA user) + 17 characters. */
export function iamUniqueId(prefix: string): string {
  return prefix + randomString(UPPER_ALNUM, 17);
}

/** A new access key: `AKIA` + 16 upper-case alphanumerics, and a 40-character secret. */
export function newAccessKey(): {
  accessKeyId: string;
  secretAccessKey: string;
} {
  return {
    accessKeyId: `AKIA${randomString(UPPER_ALNUM, 16)}`,
    secretAccessKey: randomString(SECRET_CHARS, 40),
  };
}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** ISO 8601 without milliseconds, like IAM's timestamps. */
export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
