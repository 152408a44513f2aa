import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { settingsArb, usableName, validName } from '../__testUtils__/arbitraries';
import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { awsPartition } from '@internal/plugin-golden-path-node';
import { SERVICE_KEY } from '@internal/plugin-golden-path-common';
import { trustAllows } from '../__testUtils__/iamTrust';
import { deriveNames } from './derive';
import {
  ECR_PUSH_PULL_ACTIONS,
  ciTokenSubject,
  ecrRepositoryArn,
  renderCiTrustPolicy,
  renderEcrPolicy,
  renderPermissionsBoundary,
  renderSecretsPolicy,
  renderSecretsTrustPolicy,
} from './iam';
import { PlatformSettings } from './types';

const principal = (account: string) => `arn:aws:iam::${account}:user/idp-ci`;

/**
 * Runs the IAM policy simulator for one request made by a user whose only
 * policy is `policy`. Returns 'Allowed', 'ImplicitlyDenied' or
 * 'ExplicitlyDenied'; a simulator input error fails the test, so an action
 * or ARN the simulator does not know cannot pass as "denied".
 */
async function decide(
  settings: PlatformSettings,
  policy: object,
  action: string,
  resource: string,
  resourceAccount = settings.awsAccountId,
): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: principal(settings.awsAccountId),
        action,
        resource: { resource, accountId: resourceAccount },
        contextVariables: {},
      },
      identityPolicies: [{ name: 'app-policy', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(
      `Simulation of ${action} on ${resource} failed: ${result.errors.message}`,
    );
  }
  return result.overallResult;
}

const repoArn = (
  s: PlatformSettings,
  name: string,
  account = s.awsAccountId,
  region = s.awsRegion,
) => `arn:${awsPartition(region)}:ecr:${region}:${account}:repository/${name}`;

describe('renderEcrPolicy', () => {
  const { policyName, document } = renderEcrPolicy(
    exampleSettings,
    'payments-api',
  );

  it('is named idp-<name>-ecr-push-pull', () => {
    expect(policyName).toBe('idp-payments-api-ecr-push-pull');
  });

  it('fits the IAM name limit for the longest names', () => {
    fc.assert(
      fc.property(usableName(exampleSettings), name => {
        expect(
          renderEcrPolicy(exampleSettings, name).policyName.length,
        ).toBeLessThanOrEqual(128);
      }),
      { numRuns: 200 },
    );
  });

  it('allows GetAuthorizationToken on * (it has no resource-level permissions)', () => {
    expect(document.Statement[0]).toEqual({
      Sid: 'EcrLogin',
      Effect: 'Allow',
      Action: ['ecr:GetAuthorizationToken'],
      Resource: '*',
    });
  });

  it('scopes push and pull to the one repository ARN', () => {
    expect(document.Statement[1].Resource).toBe(
      'arn:aws:ecr:eu-west-1:123456789012:repository/payments-api',
    );
    expect(document.Statement).toHaveLength(2);
  });

  it.each([
    ['eu-west-1', 'arn:aws:ecr:eu-west-1:123456789012:repository/svc'],
    ['cn-north-1', 'arn:aws-cn:ecr:cn-north-1:123456789012:repository/svc'],
    [
      'us-gov-west-1',
      'arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/svc',
    ],
  ])('builds the repository ARN for %s', (region, arn) => {
    expect(
      ecrRepositoryArn({ ...exampleSettings, awsRegion: region }, 'svc'),
    ).toBe(arn);
  });
});

describe('IAM simulation of the per-app policy', () => {
  it('allows the CI user to log in to ECR', async () => {
    const { document } = renderEcrPolicy(exampleSettings, 'payments-api');
    expect(
      await decide(exampleSettings, document, 'ecr:GetAuthorizationToken', '*'),
    ).toBe('Allowed');
  });

  it('allows every push and pull action on its own repository', async () => {
    await fc.assert(
      fc.asyncProperty(
        settingsArb.chain(s => fc.tuple(fc.constant(s), usableName(s))),
        fc.constantFrom(...ECR_PUSH_PULL_ACTIONS),
        async ([settings, name], action) => {
          const { document } = renderEcrPolicy(settings, name);
          expect(
            await decide(settings, document, action, repoArn(settings, name)),
          ).toBe('Allowed');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('denies the same actions on any other repository, account or region', async () => {
    const scenario = settingsArb.chain(settings =>
      fc.record({
        settings: fc.constant(settings),
        name: usableName(settings),
        other: fc.oneof(
          // another repository in the same account and region
          fc.record({
            repo: validName,
            account: fc.constant(undefined),
            region: fc.constant(undefined),
          }),
          // the same repository name in another account
          fc.record({
            repo: fc.constant(undefined),
            account: fc.string({
              unit: fc.constantFrom(...'0123456789'),
              minLength: 12,
              maxLength: 12,
            }),
            region: fc.constant(undefined),
          }),
          // the same repository name in another region
          fc.record({
            repo: fc.constant(undefined),
            account: fc.constant(undefined),
            region: fc.constantFrom(
              'us-west-2',
              'ap-northeast-1',
              'sa-east-1',
              'eu-north-1',
            ),
          }),
        ),
        action: fc.constantFrom(...ECR_PUSH_PULL_ACTIONS),
      }),
    );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ settings, name, other, action }) => {
        const repo = other.repo ?? name;
        const account = other.account ?? settings.awsAccountId;
        const region = other.region ?? settings.awsRegion;
        fc.pre(
          repo !== name ||
            account !== settings.awsAccountId ||
            region !== settings.awsRegion,
        );
        const { document } = renderEcrPolicy(settings, name);
        const arn = repoArn(settings, repo, account, region);
        expect(await decide(settings, document, action, arn, account)).toBe(
          'ImplicitlyDenied',
        );
      }),
      { numRuns: 200 },
    );
  });

  it('denies everything that is not push or pull', async () => {
    const forbidden = (account: string, region: string, name: string) => [
      ['s3:GetObject', 'arn:aws:s3:::some-bucket/some-key'],
      ['s3:PutObject', `arn:aws:s3:::${name}/x`],
      ['iam:CreateUser', `arn:aws:iam::${account}:user/${name}`],
      ['iam:AttachUserPolicy', `arn:aws:iam::${account}:user/${name}`],
      ['sts:AssumeRole', `arn:aws:iam::${account}:role/admin`],
      [
        'secretsmanager:GetSecretValue',
        `arn:aws:secretsmanager:${region}:${account}:secret:idp/${name}-AbCdEf`,
      ],
      ['ecr:DeleteRepository', repoArn(exampleSettings, name, account, region)],
      ['ecr:BatchDeleteImage', repoArn(exampleSettings, name, account, region)],
      [
        'ecr:SetRepositoryPolicy',
        repoArn(exampleSettings, name, account, region),
      ],
      [
        'ecr:PutLifecyclePolicy',
        repoArn(exampleSettings, name, account, region),
      ],
      [
        'ecr:PutImageTagMutability',
        repoArn(exampleSettings, name, account, region),
      ],
      ['ecr:TagResource', repoArn(exampleSettings, name, account, region)],
      ['ecr:CreateRepository', repoArn(exampleSettings, name, account, region)],
      [
        'ecr:DescribeRepositories',
        repoArn(exampleSettings, name, account, region),
      ],
      ['ecr:PutRegistryPolicy', '*'],
    ];
    await fc.assert(
      fc.asyncProperty(
        settingsArb.chain(s => fc.tuple(fc.constant(s), usableName(s))),
        fc.nat(14),
        async ([settings, name], index) => {
          const [action, resource] = forbidden(
            settings.awsAccountId,
            settings.awsRegion,
            name,
          )[index];
          const { document } = renderEcrPolicy(settings, name);
          expect({
            action,
            decision: await decide(settings, document, action, resource),
          }).toEqual({ action, decision: 'ImplicitlyDenied' });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('would catch a wildcard repository ARN (the simulation can fail)', async () => {
    const { document } = renderEcrPolicy(exampleSettings, 'payments-api');
    const loose = {
      ...document,
      Statement: [
        document.Statement[0],
        {
          ...document.Statement[1],
          Resource: `${document.Statement[1].Resource}*`,
        },
      ],
    };
    const other = repoArn(exampleSettings, 'payments-api-admin');
    expect(await decide(exampleSettings, loose, 'ecr:PutImage', other)).toBe(
      'Allowed',
    );
    expect(await decide(exampleSettings, document, 'ecr:PutImage', other)).toBe(
      'ImplicitlyDenied',
    );
  });
});

describe('the CI role (GitLab OIDC)', () => {
  const settings = exampleSettings;
  const names = deriveNames(settings, 'payments-api');
  const trust = renderCiTrustPolicy(settings, names);
  const gitlab = {
    provider: 'arn:aws:iam::123456789012:oidc-provider/gitlab.example.com',
    issuer: 'gitlab.example.com',
  };
  const token = (sub: string, aud = settings.gitlabOidcAudience) => ({
    ...gitlab,
    claims: { sub, aud },
  });
  const roleArn = 'arn:aws:iam::123456789012:role/idp-payments-api-ci';
  const boundary = renderPermissionsBoundary(settings).document;
  const { document: ecrPolicy } = renderEcrPolicy(settings, 'payments-api');
  const tags = { [SERVICE_KEY]: 'payments-api' };

  /** The role's decision on one request: its policies, capped by the boundary. */
  async function roleMay(
    policies: object[],
    action: string,
    resource: string,
    principalTags: Record<string, string> = tags,
    withBoundary = true,
  ): Promise<string> {
    const result = await runSimulation(
      {
        request: {
          principal: roleArn,
          action,
          resource: { resource, accountId: settings.awsAccountId },
          contextVariables: Object.fromEntries(
            Object.entries(principalTags).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]),
          ),
        },
        identityPolicies: policies.map((policy, i) => ({ name: `p${i}`, policy })),
        permissionBoundaryPolicies: withBoundary
          ? [{ name: 'boundary', policy: boundary }]
          : undefined,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error') {
      throw new Error(`Simulation failed: ${JSON.stringify(result.errors)}`);
    }
    return result.overallResult;
  }

  it("pins the token to the app project's default branch and the audience", () => {
    expect(trust.Statement).toEqual([
      {
        Sid: 'GitLabDefaultBranchPipelines',
        Effect: 'Allow',
        Principal: { Federated: gitlab.provider },
        Action: ['sts:AssumeRoleWithWebIdentity'],
        Condition: {
          StringEquals: {
            'gitlab.example.com:aud': 'https://gitlab.example.com',
            'gitlab.example.com:sub':
              'project_path:apps/payments-api:ref_type:branch:ref:main',
          },
        },
      },
    ]);
  });

  it("can be assumed by a pipeline of its own project's default branch", () => {
    expect(
      trustAllows(
        trust,
        token('project_path:apps/payments-api:ref_type:branch:ref:main'),
      ),
    ).toBe(true);
  });

  it.each([
    ['another project', 'project_path:apps/payments:ref_type:branch:ref:main'],
    ['a project with a longer name', 'project_path:apps/payments-api-2:ref_type:branch:ref:main'],
    ['the same name in another group', 'project_path:forks/payments-api:ref_type:branch:ref:main'],
    ['another branch', 'project_path:apps/payments-api:ref_type:branch:ref:feature-x'],
    // A merge request pipeline's token names its source branch.
    ['a merge request pipeline', 'project_path:apps/payments-api:ref_type:branch:ref:fix/mr-42'],
    ['a tag called main', 'project_path:apps/payments-api:ref_type:tag:ref:main'],
    ['a branch called main-2', 'project_path:apps/payments-api:ref_type:branch:ref:main-2'],
  ])('refuses %s', (_what, sub) => {
    expect(trustAllows(trust, token(sub))).toBe(false);
  });

  it('refuses a token for another audience', () => {
    expect(
      trustAllows(
        trust,
        token('project_path:apps/payments-api:ref_type:branch:ref:main', 'sts.amazonaws.com'),
      ),
    ).toBe(false);
  });

  it('refuses a token from another issuer', () => {
    expect(
      trustAllows(trust, {
        provider: 'arn:aws:iam::123456789012:oidc-provider/gitlab.com',
        issuer: 'gitlab.com',
        claims: {
          sub: 'project_path:apps/payments-api:ref_type:branch:ref:main',
          aud: settings.gitlabOidcAudience,
        },
      }),
    ).toBe(false);
  });

  it('holds for every service name and project path', () => {
    fc.assert(
      fc.property(
        settingsArb.chain(s => fc.tuple(fc.constant(s), usableName(s), usableName(s))),
        ([s, name, other]) => {
          fc.pre(name !== other);
          const own = deriveNames(s, name);
          const policy = renderCiTrustPolicy(s, own);
          const issuer = s.gitlabHost;
          const request = (sub: string) => ({
            provider: `arn:aws:iam::${s.awsAccountId}:oidc-provider/${issuer}`,
            issuer,
            claims: { sub, aud: s.gitlabOidcAudience },
          });
          expect(trustAllows(policy, request(ciTokenSubject(own)))).toBe(true);
          expect(
            trustAllows(policy, request(ciTokenSubject(deriveNames(s, other)))),
          ).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('pushes and pulls its own repository', async () => {
    for (const action of ECR_PUSH_PULL_ACTIONS) {
      expect({
        action,
        decision: await roleMay([ecrPolicy], action, repoArn(settings, 'payments-api')),
      }).toEqual({ action, decision: 'Allowed' });
    }
    expect(await roleMay([ecrPolicy], 'ecr:GetAuthorizationToken', '*')).toBe('Allowed');
  });

  it.each(['payments', 'payments-api-admin', 'billing'])(
    'cannot push to or pull from repository %s',
    async other => {
      for (const action of ['ecr:PutImage', 'ecr:BatchGetImage']) {
        expect(await roleMay([ecrPolicy], action, repoArn(settings, other))).toBe(
          'ImplicitlyDenied',
        );
      }
    },
  );

  describe('the permissions boundary caps anything attached later', () => {
    const admin = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Admin', Effect: 'Allow', Action: '*', Resource: '*' }],
    };

    it.each([
      ['iam:CreateUser', 'arn:aws:iam::123456789012:user/backdoor'],
      ['iam:DeleteRolePermissionsBoundary', roleArn],
      ['iam:AttachRolePolicy', roleArn],
      ['sts:AssumeRole', 'arn:aws:iam::123456789012:role/admin'],
      ['s3:GetObject', 'arn:aws:s3:::some-bucket/some-key'],
      ['ecr:DeleteRepository', repoArn(exampleSettings, 'payments-api')],
      ['ecr:PutImage', repoArn(exampleSettings, 'payments')],
      [
        'secretsmanager:GetSecretValue',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:idp/payments/app-Ab1Cd2',
      ],
      [
        'secretsmanager:PutSecretValue',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:idp/payments-api/app-Ab1Cd2',
      ],
    ])('an administrator policy still cannot %s', async (action, resource) => {
      expect(await roleMay([ecrPolicy, admin], action, resource)).toBe('ImplicitlyDenied');
    });

    it.each([
      ['ecr:PutImage', repoArn(exampleSettings, 'payments-api')],
      [
        'secretsmanager:GetSecretValue',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:idp/payments-api/app-Ab1Cd2',
      ],
    ])('...while its own %s stays possible', async (action, resource) => {
      expect(await roleMay([admin], action, resource)).toBe('Allowed');
    });

    it('gives a principal without the service tag nothing but the ECR login', async () => {
      expect(
        await roleMay([admin], 'ecr:PutImage', repoArn(exampleSettings, 'payments-api'), {}),
      ).toBe('ImplicitlyDenied');
    });

    it('is what stops it (without the boundary the administrator policy would win)', async () => {
      expect(
        await roleMay(
          [ecrPolicy, admin],
          'iam:CreateUser',
          'arn:aws:iam::123456789012:user/backdoor',
          tags,
          false,
        ),
      ).toBe('Allowed');
    });
  });
});

describe('the secrets role (EKS IRSA)', () => {
  const settings = exampleSettings;
  const trust = renderSecretsTrustPolicy(settings, 'payments-api');
  const provider = settings.clusterOidcProvider!;
  const token = (sub: string, aud = 'sts.amazonaws.com') => ({
    provider: `arn:aws:iam::123456789012:oidc-provider/${provider}`,
    issuer: provider,
    claims: { sub, aud },
  });

  it("trusts the namespace's secrets ServiceAccount only", () => {
    expect(
      trustAllows(trust, token('system:serviceaccount:payments-api:payments-api-secrets')),
    ).toBe(true);
    for (const sub of [
      'system:serviceaccount:payments-api:payments-api',
      'system:serviceaccount:payments-api:default',
      'system:serviceaccount:payments:payments-api-secrets',
      'system:serviceaccount:external-secrets:external-secrets',
    ]) {
      expect({ sub, allowed: trustAllows(trust, token(sub)) }).toEqual({
        sub,
        allowed: false,
      });
    }
  });

  it('reads its own folder only', () => {
    expect(renderSecretsPolicy(settings, 'payments-api').document.Statement).toEqual([
      {
        Sid: 'ReadOwnSecrets',
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource:
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:idp/payments-api/*',
      },
    ]);
  });

  it('needs the cluster OIDC provider', () => {
    expect(() =>
      renderSecretsTrustPolicy(
        { ...settings, clusterOidcProvider: undefined },
        'payments-api',
      ),
    ).toThrow('goldenPath.kubernetes.oidcProvider');
  });
});
