import { SERVICE_KEY } from '@internal/plugin-golden-path-common';
import { awsPartition } from '@internal/plugin-golden-path-node';
import { DerivedNames, ecrPolicyName } from './derive';
import { assertServiceName } from './input';
import {
  secretPathPrefix,
  secretsPolicyName,
  secretsServiceAccountName,
} from './secrets';
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

/** Secrets Manager actions the secret store needs to read a secret. */
export const SECRETS_READ_ACTIONS: readonly string[] = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
];

/** The action GitLab CI and EKS service accounts use to become a role. */
export const WEB_IDENTITY_ACTION = 'sts:AssumeRoleWithWebIdentity';

/** Audience EKS puts in the service-account tokens it issues for IAM (IRSA). */
export const EKS_STS_AUDIENCE = 'sts.amazonaws.com';

/** One IAM policy statement (the subset of the grammar we generate). */
export interface IamStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string | string[];
}

/** One statement of a role's trust policy. */
export interface TrustStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal: { Federated: string };
  Action: string[];
  Condition: { StringEquals: Record<string, string> };
}

/** A role's trust policy (who may assume it). */
export interface TrustPolicyDocument {
  Version: '2012-10-17';
  Statement: TrustStatement[];
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

/** ECR login (no resource-level permissions) and push/pull on one repository (ARN or pattern). */
function ecrStatements(repository: string): IamStatement[] {
  return [
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
      Resource: repository,
    },
  ];
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
      Statement: ecrStatements(arn),
    },
  };
}

/** `arn:<partition>:iam::<account>:<resource>` */
function iamArn(settings: PlatformSettings, resource: string): string {
  return `arn:${awsPartition(settings.awsRegion)}:iam::${settings.awsAccountId}:${resource}`;
}

/** ARN of an IAM role of the platform's account. */
export function iamRoleArn(settings: PlatformSettings, roleName: string): string {
  return iamArn(settings, `role/${roleName}`);
}

/** ARN of a customer-managed IAM policy of the platform's account. */
export function iamPolicyArn(settings: PlatformSettings, policyName: string): string {
  return iamArn(settings, `policy/${policyName}`);
}

/** Name of the service's CI role (and, with `ciAuth: static-key`, CI user). */
export function ciRoleName(name: string): string {
  return `idp-${name}-ci`;
}

/** The host GitLab's ID tokens name as issuer (no scheme, no trailing slash). */
export function gitlabIssuerHost(settings: PlatformSettings): string {
  return settings.gitlabHost
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '');
}

/** ARN of an IAM OIDC identity provider registered for `issuerHost`. */
export function oidcProviderArn(settings: PlatformSettings, issuerHost: string): string {
  return iamArn(settings, `oidc-provider/${issuerHost}`);
}

/** The branch whose pipelines may push images and deploy. */
export const CI_DEFAULT_BRANCH = 'main';

/**
 * The `sub` claim of GitLab's ID token for a pipeline of the app project's
 * default branch. Merge-request pipelines carry the source branch's name,
 * tags `ref_type:tag`: neither matches.
 */
export function ciTokenSubject(names: Pick<DerivedNames, 'appRepoPath'>): string {
  return `project_path:${names.appRepoPath}:ref_type:branch:ref:${CI_DEFAULT_BRANCH}`;
}

/**
 * Trust policy of the service's CI role: only GitLab's ID token, with the
 * platform's audience, for a pipeline of this app project's default
 * branch. Nothing else (no other project, branch, tag or merge request,
 * no IAM principal) can assume it.
 */
export function renderCiTrustPolicy(
  settings: PlatformSettings,
  names: Pick<DerivedNames, 'appRepoPath'>,
): TrustPolicyDocument {
  const issuer = gitlabIssuerHost(settings);
  return webIdentityTrust(settings, 'GitLabDefaultBranchPipelines', issuer, {
    aud: settings.gitlabOidcAudience,
    sub: ciTokenSubject(names),
  });
}

/**
 * A trust policy that lets exactly one OIDC identity assume the role: a
 * token of `provider` whose `aud` and `sub` equal the given values.
 */
function webIdentityTrust(
  settings: PlatformSettings,
  sid: string,
  provider: string,
  claims: { aud: string; sub: string },
): TrustPolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: sid,
        Effect: 'Allow',
        Principal: { Federated: oidcProviderArn(settings, provider) },
        Action: [WEB_IDENTITY_ACTION],
        Condition: {
          StringEquals: {
            [`${provider}:aud`]: claims.aud,
            [`${provider}:sub`]: claims.sub,
          },
        },
      },
    ],
  };
}

/**
 * The cluster's IAM OIDC provider host path (EKS IRSA), checked: the aws
 * secret store cannot authenticate without it.
 */
export function clusterOidcProvider(settings: PlatformSettings): string {
  const provider = settings.clusterOidcProvider
    ?.trim()
    .replace(/^https:\/\//, '')
    .replace(/\/+$/, '');
  if (!provider) {
    throw new Error(
      'goldenPath.kubernetes.oidcProvider is not set: the aws secret store needs the cluster\'s IAM OIDC provider (EKS IRSA), e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC',
    );
  }
  return provider;
}

/**
 * Trust policy of the service's secrets role: only tokens EKS issues for
 * the service's secrets ServiceAccount in the service's namespace.
 */
export function renderSecretsTrustPolicy(
  settings: PlatformSettings,
  name: string,
): TrustPolicyDocument {
  const provider = clusterOidcProvider(settings);
  return webIdentityTrust(settings, 'SecretStoreServiceAccount', provider, {
    aud: EKS_STS_AUDIENCE,
    sub: `system:serviceaccount:${name}:${secretsServiceAccountName(name)}`,
  });
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<path>` */
function secretArn(settings: PlatformSettings, path: string): string {
  const region = settings.awsRegion;
  return `arn:${awsPartition(region)}:secretsmanager:${region}:${settings.awsAccountId}:secret:${path}`;
}

/**
 * The secrets role's policy: read the secrets under `<prefix>/<name>/`
 * only (Secrets Manager appends `-XXXXXX` to every ARN, hence the `*`,
 * which the trailing slash keeps inside the service's folder).
 */
export function renderSecretsPolicy(
  settings: PlatformSettings,
  name: string,
): { policyName: string; document: IamPolicyDocument } {
  assertServiceName(name, settings);
  return {
    policyName: secretsPolicyName(name),
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadOwnSecrets',
          Effect: 'Allow',
          Action: [...SECRETS_READ_ACTIONS],
          Resource: secretArn(settings, `${secretPathPrefix(settings, name)}*`),
        },
      ],
    },
  };
}

/** Policy variable for the service tag every platform-made role and user carries. */
export const SERVICE_TAG_VARIABLE = `\${aws:PrincipalTag/${SERVICE_KEY}}`;

/**
 * The permissions boundary on every role and user the platform makes: the
 * most any of them may ever do, whatever is attached to it later. It is
 * shared, yet per service: resources are named through the principal's
 * service tag (set by the platform; nothing under the boundary may tag),
 * so even an administrator policy attached by mistake reaches only the
 * service's own ECR repository and its own secrets, read-only. A principal
 * without the tag gets nothing but the ECR login.
 */
export function renderPermissionsBoundary(settings: PlatformSettings): {
  policyName: string;
  document: IamPolicyDocument;
} {
  const region = settings.awsRegion;
  const service = SERVICE_TAG_VARIABLE;
  return {
    policyName: settings.permissionsBoundaryName,
    document: {
      Version: '2012-10-17',
      Statement: [
        ...ecrStatements(
          `arn:${awsPartition(region)}:ecr:${region}:${settings.awsAccountId}:repository/${service}`,
        ),
        {
          Sid: 'ReadOwnSecrets',
          Effect: 'Allow',
          Action: [...SECRETS_READ_ACTIONS],
          Resource: secretArn(settings, `${settings.secrets.prefix}/${service}/*`),
        },
      ],
    },
  };
}
