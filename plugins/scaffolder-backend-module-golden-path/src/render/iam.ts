import { ecrPolicyName } from './derive';
import { assertServiceName } from './input';
import { PlatformSettings } from './types';

/**
 * ECR actions a CI job needs to push an image and a cluster node or
 * developer needs to pull it. Nothing that deletes images or repositories
 * or changes repository policy.
 */
export const ECR_PUSH_PULL_ACTIONS: readonly string[] = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchGetImage',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:DescribeImages',
  'ecr:ListImages',
];

/**
 * `docker login` needs this; it has no resource-level permissions, so
 * `Resource: "*"` is the only possible form. The token alone grants
 * nothing: every image operation is still checked against the statements
 * below.
 */
export const ECR_LOGIN_ACTION = 'ecr:GetAuthorizationToken';

/** Number of images the lifecycle policy keeps. */
export const ECR_KEEP_LAST_IMAGES = 30;

/** One IAM policy statement (the subset of the grammar we generate). */
export interface IamStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string | string[];
}

/** An IAM policy document. */
export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

/** An ECR lifecycle policy (the subset of the grammar we generate). */
export interface EcrLifecyclePolicy {
  rules: Array<{
    rulePriority: number;
    description: string;
    selection: {
      tagStatus: 'any';
      countType: 'imageCountMoreThan';
      countNumber: number;
    };
    action: { type: 'expire' };
  }>;
}

/** AWS partition of a region: China and GovCloud ARNs differ from `aws`. */
export function awsPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** ARN of the service's ECR repository. */
export function ecrRepositoryArn(
  settings: PlatformSettings,
  name: string,
): string {
  assertServiceName(name, settings);
  const region = settings.awsRegion;
  return `arn:${awsPartition(region)}:ecr:${region}:${
    settings.awsAccountId
  }:repository/${name}`;
}

/**
 * The per-app policy: log in to ECR, then push and pull on the app's own
 * repository only. The repository ARN has no wildcard, so `foo` cannot
 * touch `foo-bar`.
 */
export function renderEcrPolicy(
  settings: PlatformSettings,
  name: string,
): { policyName: string; document: IamPolicyDocument } {
  const arn = ecrRepositoryArn(settings, name);
  return {
    policyName: ecrPolicyName(name),
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EcrLogin',
          Effect: 'Allow',
          Action: [ECR_LOGIN_ACTION],
          Resource: '*',
        },
        {
          Sid: 'PushPullOwnRepository',
          Effect: 'Allow',
          Action: [...ECR_PUSH_PULL_ACTIONS],
          Resource: arn,
        },
      ],
    },
  };
}

/**
 * Expires all but the newest {@link ECR_KEEP_LAST_IMAGES} images, so the
 * repository does not grow without bound. Serialise with JSON.stringify for
 * PutLifecyclePolicy.
 */
export function renderEcrLifecyclePolicy(): EcrLifecyclePolicy {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep the last ${ECR_KEEP_LAST_IMAGES} images`,
        selection: {
          tagStatus: 'any',
          countType: 'imageCountMoreThan',
          countNumber: ECR_KEEP_LAST_IMAGES,
        },
        action: { type: 'expire' },
      },
    ],
  };
}
