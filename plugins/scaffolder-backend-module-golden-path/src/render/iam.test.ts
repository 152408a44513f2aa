import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { settingsArb, usableName, validName } from '../__testUtils__/arbitraries';
import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { awsPartition } from '@internal/plugin-golden-path-node';
import { ECR_PUSH_PULL_ACTIONS, ecrRepositoryArn, renderEcrPolicy } from './iam';
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
