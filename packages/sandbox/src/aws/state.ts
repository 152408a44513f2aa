import crypto from 'node:crypto';

/** What the AWS fake keeps in `<dataDir>/aws.json`. */
export interface AwsState {
  /** ECR repositories by ARN (ARNs carry account and region). */
  repositories: Record<string, EcrRepositoryRecord>;
  /** IAM managed policies by lower-case name (IAM names ignore case). */
  policies: Record<string, IamPolicyRecord>;
  /** IAM users by lower-case name. */
  users: Record<string, IamUserRecord>;
}

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
}

export function emptyAwsState(): AwsState {
  return { repositories: {}, policies: {}, users: {} };
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
