import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAttachedUserPoliciesCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { AwsRegistryClient } from '@internal/plugin-golden-path-node';
import { renderEcrLifecyclePolicy } from '@internal/plugin-golden-path-node';
import { renderEcrPolicy } from '@internal/plugin-scaffolder-backend-module-golden-path';
import { exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import express from 'express';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import { awsFake } from '.';

const ACCOUNT = '000000000000';
const REGION = 'eu-west-1';
const REPO = 'payments-api';
const TAGS = { 'golden-path/app': REPO, owner: 'team-payments' };
const SETTINGS = {
  ...exampleSettings,
  awsAccountId: ACCOUNT,
  awsRegion: REGION,
};
const { policyName: POLICY, document: POLICY_DOCUMENT } = renderEcrPolicy(
  SETTINGS,
  REPO,
);
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/${POLICY}`;
const USER = `ci-${REPO}`;

const stub: SandboxFakeFactory = () => ({
  router: express.Router(),
  operationOf: () => 'x',
});

function start(dataDir: string): Promise<RunningSandbox> {
  return startSandbox({
    dataDir,
    ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
    fakes: { gitlab: stub, argocd: stub, aws: awsFake, kubernetes: stub },
  });
}

/** The real SDK clients and the real AwsRegistryClient, pointed at the fake. */
function clientsFor(sandbox: RunningSandbox) {
  const config = {
    endpoint: sandbox.urls.aws,
    region: REGION,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  };
  const ecr = new ECRClient(config);
  const iam = new IAMClient(config);
  const registry = new AwsRegistryClient({
    ecr,
    iam,
    accountId: ACCOUNT,
    region: REGION,
    lifecyclePolicy: renderEcrLifecyclePolicy(),
  });
  return { ecr, iam, registry };
}

describe('awsFake with the real AwsRegistryClient', () => {
  let dataDir: string;
  let sandbox: RunningSandbox;
  let ecr: ECRClient;
  let iam: IAMClient;
  let registry: AwsRegistryClient;

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-aws-'));
    sandbox = await start(dataDir);
    ({ ecr, iam, registry } = clientsFor(sandbox));
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, finds and deletes an ECR repository', async () => {
    await expect(registry.findRepository(REPO)).resolves.toBeUndefined();

    const created = await registry.createRepository(REPO, TAGS);
    expect(created).toEqual({
      name: REPO,
      arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPO}`,
      uri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPO}`,
      tags: TAGS,
    });

    const described = await ecr.send(
      new DescribeRepositoriesCommand({
        registryId: ACCOUNT,
        repositoryNames: [REPO],
      }),
    );
    expect(described.repositories).toHaveLength(1);
    const repository = described.repositories![0];
    expect(repository).toMatchObject({
      repositoryName: REPO,
      registryId: ACCOUNT,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'AES256' },
    });
    expect(repository.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(repository.createdAt!.getTime() - Date.now())).toBeLessThan(
      60_000,
    );

    const lifecycle = await ecr.send(
      new GetLifecyclePolicyCommand({
        registryId: ACCOUNT,
        repositoryName: REPO,
      }),
    );
    expect(JSON.parse(lifecycle.lifecyclePolicyText!)).toEqual(
      renderEcrLifecyclePolicy(),
    );

    await expect(registry.createRepository(REPO, TAGS)).rejects.toMatchObject({
      name: 'ConflictError',
    });

    await expect(registry.findRepository(REPO)).resolves.toEqual(created);

    await registry.deleteRepository(REPO);
    await expect(registry.findRepository(REPO)).resolves.toBeUndefined();
    // Deleting what is gone is fine for the client (it maps RepositoryNotFound).
    await expect(registry.deleteRepository(REPO)).resolves.toBeUndefined();
  });

  it('creates a policy and a CI user, then deletes the attached policy and the user', async () => {
    await expect(registry.findPolicy(POLICY)).resolves.toBeUndefined();

    const policy = await registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS);
    expect(policy).toEqual({ name: POLICY, arn: POLICY_ARN, tags: TAGS });
    await expect(registry.findPolicy(POLICY)).resolves.toEqual(policy);
    await expect(
      registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS),
    ).rejects.toMatchObject({
      name: 'ConflictError',
    });

    const got = await iam.send(new GetPolicyCommand({ PolicyArn: POLICY_ARN }));
    expect(got.Policy).toMatchObject({
      PolicyName: POLICY,
      Arn: POLICY_ARN,
      DefaultVersionId: 'v1',
      AttachmentCount: 0,
      IsAttachable: true,
    });
    expect(got.Policy!.PolicyId).toMatch(/^ANPA[A-Z0-9]{17}$/);
    expect(got.Policy!.CreateDate).toBeInstanceOf(Date);
    const version = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: POLICY_ARN, VersionId: 'v1' }),
    );
    expect(
      JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)),
    ).toEqual(POLICY_DOCUMENT);

    await expect(registry.userExists(USER)).resolves.toBe(false);
    const ci = await registry.createCiUser(USER, POLICY_ARN, TAGS);
    expect(ci.userName).toBe(USER);
    expect(ci.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(ci.secretAccessKey).toHaveLength(40);
    await expect(registry.userExists(USER)).resolves.toBe(true);
    await expect(
      registry.createCiUser(USER, POLICY_ARN, TAGS),
    ).rejects.toMatchObject({
      name: 'ConflictError',
    });

    const attached = await iam.send(
      new GetPolicyCommand({ PolicyArn: POLICY_ARN }),
    );
    expect(attached.Policy!.AttachmentCount).toBe(1);
    // IAM itself refuses while attached; the client detaches first.
    await expect(
      iam.send(new DeletePolicyCommand({ PolicyArn: POLICY_ARN })),
    ).rejects.toMatchObject({
      name: 'DeleteConflictException',
      $metadata: { httpStatusCode: 409 },
    });

    await registry.deletePolicy(POLICY_ARN);
    await expect(registry.findPolicy(POLICY)).resolves.toBeUndefined();
    const left = await iam.send(
      new ListAttachedUserPoliciesCommand({ UserName: USER }),
    );
    expect(left.AttachedPolicies).toEqual([]);
    await expect(registry.deletePolicy(POLICY_ARN)).resolves.toBeUndefined();

    await registry.deleteCiUser(USER);
    await expect(registry.userExists(USER)).resolves.toBe(false);
    await expect(registry.deleteCiUser(USER)).resolves.toBeUndefined();
  });

  it('keeps only a hash of access key secrets', async () => {
    await registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS);
    const ci = await registry.createCiUser(USER, POLICY_ARN, TAGS);
    // Everything the database holds on disk (main file and write-ahead log).
    const saved = fs
      .readdirSync(dataDir)
      .filter(f => f.startsWith('aws.db'))
      .map(f => fs.readFileSync(path.join(dataDir, f)).toString('latin1'))
      .join('\n');
    expect(saved).toContain(ci.accessKeyId);
    expect(saved).not.toContain(ci.secretAccessKey);
  });

  it('deletes non-default policy versions before the policy', async () => {
    await registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS);
    await iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: POLICY_ARN,
        PolicyDocument: JSON.stringify(POLICY_DOCUMENT),
        SetAsDefault: true,
      }),
    );
    const versions = await iam.send(
      new ListPolicyVersionsCommand({ PolicyArn: POLICY_ARN }),
    );
    expect(
      versions.Versions?.map(v => [v.VersionId, v.IsDefaultVersion]),
    ).toEqual([
      ['v2', true],
      ['v1', false],
    ]);
    await expect(
      iam.send(new DeletePolicyCommand({ PolicyArn: POLICY_ARN })),
    ).rejects.toMatchObject({
      name: 'DeleteConflictException',
    });
    await registry.deletePolicy(POLICY_ARN);
    await expect(registry.findPolicy(POLICY)).resolves.toBeUndefined();
  });

  it.each([
    ['no Version', { Statement: POLICY_DOCUMENT.Statement }],
    ['no Statement', { Version: '2012-10-17' }],
    ['an empty Statement list', { Version: '2012-10-17', Statement: [] }],
    [
      'a statement without Effect',
      { Version: '2012-10-17', Statement: [{ Action: 's3:*', Resource: '*' }] },
    ],
    [
      'a principal (identity policies have none)',
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*' },
        ],
      },
    ],
  ])(
    'rejects a policy document with %s as InputError',
    async (_why, document) => {
      await expect(
        registry.createPolicy(POLICY, document, TAGS),
      ).rejects.toMatchObject({
        name: 'InputError',
        cause: { name: 'MalformedPolicyDocumentException' },
      });
      await expect(registry.findPolicy(POLICY)).resolves.toBeUndefined();
    },
  );

  it('rejects a policy document that is not JSON', async () => {
    await expect(
      iam.send(
        new CreatePolicyCommand({
          PolicyName: POLICY,
          PolicyDocument: '{"Version":',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'MalformedPolicyDocumentException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('keeps its state across a restart on the same data folder', async () => {
    const repository = await registry.createRepository(REPO, TAGS);
    const policy = await registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS);
    await registry.createCiUser(USER, POLICY_ARN, TAGS);
    await sandbox.close();

    sandbox = await start(dataDir);
    ({ ecr, iam, registry } = clientsFor(sandbox));
    await expect(registry.findRepository(REPO)).resolves.toEqual(repository);
    await expect(registry.findPolicy(POLICY)).resolves.toEqual(policy);
    await expect(registry.userExists(USER)).resolves.toBe(true);
    const lifecycle = await ecr.send(
      new GetLifecyclePolicyCommand({ repositoryName: REPO }),
    );
    expect(lifecycle.lifecyclePolicyText).toBe(
      JSON.stringify(renderEcrLifecyclePolicy()),
    );
  });

  it('fails the Nth CreateRepository when a fault rule says so', async () => {
    sandbox.faults.add({
      service: 'aws',
      operation: 'CreateRepository',
      failNth: 1,
      status: 500,
    });
    // A ForwardedError, named after its cause: the SDK's error for a 500 without __type.
    await expect(registry.createRepository(REPO, TAGS)).rejects.toMatchObject({
      message: expect.stringContaining(
        `Could not create ECR repository '${REPO}'`,
      ),
      cause: { $metadata: { httpStatusCode: 500 } },
    });
    await expect(registry.findRepository(REPO)).resolves.toBeUndefined();
    await expect(registry.createRepository(REPO, TAGS)).resolves.toMatchObject({
      name: REPO,
    });
    expect(
      sandbox.faults.log.filter(op => op === 'aws CreateRepository'),
    ).toHaveLength(2);
  });

  it('names IAM operations in the log and fails them by fault rules', async () => {
    sandbox.faults.add({
      service: 'aws',
      operation: 'CreatePolicy',
      failNth: 1,
      status: 500,
    });
    sandbox.faults.add({
      service: 'aws',
      operation: 'CreateUser',
      status: 409,
    });
    await expect(
      registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS),
    ).rejects.toMatchObject({
      message: expect.stringContaining(
        `Could not create IAM policy '${POLICY}'`,
      ),
      cause: {
        name: 'ServiceFailureException',
        $metadata: { httpStatusCode: 500 },
      },
    });
    await expect(
      registry.createPolicy(POLICY, POLICY_DOCUMENT, TAGS),
    ).resolves.toMatchObject({
      arn: POLICY_ARN,
    });
    await expect(
      registry.createCiUser(USER, POLICY_ARN, TAGS),
    ).rejects.toMatchObject({
      name: 'ConflictError',
    });
    await expect(registry.userExists(USER)).resolves.toBe(false);

    expect(sandbox.faults.log).toEqual([
      'aws CreatePolicy',
      'aws CreatePolicy',
      'aws CreateUser',
      'aws GetUser',
    ]);
  });

  it('counts a rule for every AWS operation once per IAM call', async () => {
    sandbox.faults.add({ service: 'aws', failNth: 2, status: 503 });
    await expect(registry.userExists(USER)).resolves.toBe(false);
    // Failed by the server before this fake sees it: plain JSON, which the IAM SDK cannot parse.
    await expect(registry.userExists(USER)).rejects.toMatchObject({
      message: expect.stringContaining(`Could not get IAM user '${USER}'`),
    });
    await expect(registry.userExists(USER)).resolves.toBe(false);
    expect(sandbox.faults.log).toEqual([
      'aws GetUser',
      'aws GetUser',
      'aws GetUser',
    ]);
  });
});
