import { awsPartition } from '@internal/plugin-golden-path-node';
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
