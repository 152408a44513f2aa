import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeleteUserCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyTagsCommand,
} from '@aws-sdk/client-iam';
import express from 'express';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import {
  AWS_OPERATIONS,
  ECR_OPERATIONS,
  IAM_OPERATIONS,
  SECRETS_OPERATIONS,
  awsFake,
} from '.';
import { escapeXml, xmlElement } from './xml';

const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
  ],
});
const LIFECYCLE = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      selection: {
        tagStatus: 'any',
        countType: 'imageCountMoreThan',
        countNumber: 5,
      },
      action: { type: 'expire' },
    },
  ],
});

const stub: SandboxFakeFactory = () => ({
  router: express.Router(),
  operationOf: () => 'x',
});

/** SigV4-shaped Authorization header; the fake reads only the credential scope. */
const authorization = (region: string, service: string) =>
  `AWS4-HMAC-SHA256 Credential=AKID/20250101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;

describe('awsFake on the wire', () => {
  let dataDir: string;
  let sandbox: RunningSandbox;
  let ecr: ECRClient;
  let iam: IAMClient;

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-aws-'));
    sandbox = await startSandbox({
      dataDir,
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
      fakes: { gitlab: stub, argocd: stub, aws: awsFake, kubernetes: stub },
    });
    const config = {
      endpoint: sandbox.urls.aws,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    };
    ecr = new ECRClient(config);
    iam = new IAMClient(config);
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function ecrCall(
    operation: string,
    body: object,
    headers: Record<string, string> = {},
  ) {
    return fetch(`${sandbox.urls.aws}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `AmazonEC2ContainerRegistry_V20150921.${operation}`,
        ...headers,
      },
      body: JSON.stringify(body),
    });
  }

  function iamCall(params: Record<string, string>) {
    return fetch(`${sandbox.urls.aws}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        Version: '2010-05-08',
        ...params,
      }).toString(),
    });
  }

  it('documents every operation once', () => {
    expect(AWS_OPERATIONS).toEqual([
      ...ECR_OPERATIONS,
      ...IAM_OPERATIONS,
      ...SECRETS_OPERATIONS.map(op => `secretsmanager.${op}`),
    ]);
    expect(new Set(AWS_OPERATIONS).size).toBe(AWS_OPERATIONS.length);
  });

  describe('ECR (JSON 1.1)', () => {
    it('answers errors with __type, message and x-amzn-ErrorType', async () => {
      const res = await ecrCall('DescribeRepositories', {
        repositoryNames: ['nope'],
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe(
        'RepositoryNotFoundException',
      );
      expect(res.headers.get('content-type')).toMatch(
        /^application\/x-amz-json-1\.1/,
      );
      expect(await res.json()).toEqual({
        __type: 'RepositoryNotFoundException',
        message:
          "The repository with name 'nope' does not exist in the registry with id '000000000000'",
      });
    });

    it('takes the region from the SigV4 scope and the account from registryId', async () => {
      const res = await ecrCall(
        'CreateRepository',
        { repositoryName: 'team/app', registryId: '111122223333' },
        { authorization: authorization('us-east-2', 'ecr') },
      );
      expect(res.status).toBe(200);
      const { repository } = await res.json();
      expect(repository).toMatchObject({
        repositoryArn: 'arn:aws:ecr:us-east-2:111122223333:repository/team/app',
        registryId: '111122223333',
        repositoryUri: '111122223333.dkr.ecr.us-east-2.amazonaws.com/team/app',
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: false },
        encryptionConfiguration: { encryptionType: 'AES256' },
      });
      expect(typeof repository.createdAt).toBe('number');

      // Another region (eu-west-1, the default) has no such repository.
      const other = await ecrCall('DescribeRepositories', {
        registryId: '111122223333',
        repositoryNames: ['team/app'],
      });
      expect(other.status).toBe(400);
    });

    it('tags, untags, lists no images and manages the lifecycle policy', async () => {
      const { repository } = await ecr.send(
        new CreateRepositoryCommand({
          repositoryName: 'app',
          tags: [{ Key: 'a', Value: '1' }],
        }),
      );
      const resourceArn = repository!.repositoryArn!;
      await ecr.send(
        new TagResourceCommand({
          resourceArn,
          tags: [
            { Key: 'a', Value: '2' },
            { Key: 'b', Value: '3' },
          ],
        }),
      );
      await ecr.send(new UntagResourceCommand({ resourceArn, tagKeys: ['b'] }));
      const { tags } = await ecr.send(
        new ListTagsForResourceCommand({ resourceArn }),
      );
      expect(tags).toEqual([{ Key: 'a', Value: '2' }]);

      await expect(
        ecr.send(new DescribeImagesCommand({ repositoryName: 'app' })),
      ).resolves.toMatchObject({
        imageDetails: [],
      });
      await expect(
        ecr.send(new ListImagesCommand({ repositoryName: 'app' })),
      ).resolves.toMatchObject({
        imageIds: [],
      });

      await expect(
        ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' })),
      ).rejects.toMatchObject({
        name: 'LifecyclePolicyNotFoundException',
      });
      await expect(
        ecr.send(
          new PutLifecyclePolicyCommand({
            repositoryName: 'app',
            lifecyclePolicyText: '{"rules":',
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidParameterException' });
      await ecr.send(
        new PutLifecyclePolicyCommand({
          repositoryName: 'app',
          lifecyclePolicyText: LIFECYCLE,
        }),
      );
      const got = await ecr.send(
        new GetLifecyclePolicyCommand({ repositoryName: 'app' }),
      );
      expect(got).toMatchObject({
        registryId: '000000000000',
        repositoryName: 'app',
        lifecyclePolicyText: LIFECYCLE,
      });
      expect(got.lastEvaluatedAt).toBeInstanceOf(Date);
      await ecr.send(
        new DeleteLifecyclePolicyCommand({ repositoryName: 'app' }),
      );
      await expect(
        ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' })),
      ).rejects.toMatchObject({
        name: 'LifecyclePolicyNotFoundException',
      });
    });

    it('describes all repositories, or fails when any named one is missing', async () => {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'b-app' }));
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'a-app' }));
      const all = await ecr.send(new DescribeRepositoriesCommand({}));
      expect(all.repositories?.map(r => r.repositoryName)).toEqual([
        'a-app',
        'b-app',
      ]);
      await expect(
        ecr.send(
          new DescribeRepositoriesCommand({
            repositoryNames: ['a-app', 'c-app'],
          }),
        ),
      ).rejects.toMatchObject({
        name: 'RepositoryNotFoundException',
        message: expect.stringContaining("'c-app'"),
      });
    });

    it('rejects invalid names and unknown operations', async () => {
      await expect(
        ecr.send(new CreateRepositoryCommand({ repositoryName: 'Bad_Name' })),
      ).rejects.toMatchObject({
        name: 'InvalidParameterException',
        $metadata: { httpStatusCode: 400 },
      });
      const res = await ecrCall('PutImage', {});
      expect(res.status).toBe(400);
      expect((await res.json()).__type).toBe('UnknownOperationException');
    });
  });

  describe('IAM (Query)', () => {
    it('answers in namespaced XML with a request id', async () => {
      const res = await iamCall({
        Action: 'CreatePolicy',
        PolicyName: 'p',
        PolicyDocument: DOCUMENT,
      });
      expect(res.status).toBe(200);
      const xml = await res.text();
      expect(xml).toMatch(
        /^<CreatePolicyResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><CreatePolicyResult><Policy><PolicyName>p<\/PolicyName><PolicyId>ANPA[A-Z0-9]{17}<\/PolicyId><Arn>arn:aws:iam::000000000000:policy\/p<\/Arn>/,
      );
      expect(xml).toMatch(
        /<\/CreatePolicyResult><ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/CreatePolicyResponse>$/,
      );
    });

    it('answers errors as ErrorResponse with the status of the code', async () => {
      const res = await iamCall({ Action: 'GetUser', UserName: 'nobody' });
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(
        /^<ErrorResponse xmlns="[^"]+"><Error><Type>Sender<\/Type><Code>NoSuchEntity<\/Code><Message>The user with name nobody cannot be found\.<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
      );
      const invalid = await iamCall({
        Action: 'CreateUser',
        UserName: 'has space',
      });
      expect(invalid.status).toBe(400);
      expect(await invalid.text()).toContain('<Code>ValidationError</Code>');
      const unknown = await iamCall({ Action: 'CreateGroup', GroupName: 'g' });
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toContain('<Code>InvalidAction</Code>');
    });

    it('reads the action from the query string too', async () => {
      const res = await fetch(
        `${sandbox.urls.aws}/?Action=GetUser&UserName=nobody&Version=2010-05-08`,
      );
      expect(res.status).toBe(404);
      expect(sandbox.faults.log).toEqual(['aws GetUser']);
    });

    it('escapes tag values and returns them unchanged', async () => {
      const Value = `<a href="x">&'</a>`;
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'p',
          PolicyDocument: DOCUMENT,
          Tags: [{ Key: 'k', Value }],
        }),
      );
      const { Tags } = await iam.send(
        new ListPolicyTagsCommand({
          PolicyArn: 'arn:aws:iam::000000000000:policy/p',
        }),
      );
      expect(Tags).toEqual([{ Key: 'k', Value }]);
    });

    it('guards users: unique names ignoring case, two keys, no delete while in use', async () => {
      await iam.send(new CreateUserCommand({ UserName: 'ci-app' }));
      await expect(
        iam.send(new CreateUserCommand({ UserName: 'CI-App' })),
      ).rejects.toMatchObject({
        name: 'EntityAlreadyExistsException',
        $metadata: { httpStatusCode: 409 },
      });
      const { Policy } = await iam.send(
        new CreatePolicyCommand({ PolicyName: 'p', PolicyDocument: DOCUMENT }),
      );
      const PolicyArn = Policy!.Arn!;
      await iam.send(
        new AttachUserPolicyCommand({ UserName: 'ci-app', PolicyArn }),
      );
      const entities = await iam.send(
        new ListEntitiesForPolicyCommand({ PolicyArn }),
      );
      expect(entities).toMatchObject({
        PolicyUsers: [{ UserName: 'ci-app' }],
        PolicyGroups: [],
        PolicyRoles: [],
        IsTruncated: false,
      });

      const first = await iam.send(
        new CreateAccessKeyCommand({ UserName: 'ci-app' }),
      );
      expect(first.AccessKey).toMatchObject({
        UserName: 'ci-app',
        Status: 'Active',
      });
      await iam.send(new CreateAccessKeyCommand({ UserName: 'ci-app' }));
      await expect(
        iam.send(new CreateAccessKeyCommand({ UserName: 'ci-app' })),
      ).rejects.toMatchObject({
        name: 'LimitExceededException',
      });
      const keys = await iam.send(
        new ListAccessKeysCommand({ UserName: 'ci-app' }),
      );
      expect(keys.AccessKeyMetadata).toHaveLength(2);
      expect(keys.AccessKeyMetadata![0]).not.toHaveProperty('SecretAccessKey');

      await expect(
        iam.send(new DeleteUserCommand({ UserName: 'ci-app' })),
      ).rejects.toMatchObject({
        name: 'DeleteConflictException',
        $metadata: { httpStatusCode: 409 },
      });
      await iam.send(
        new DetachUserPolicyCommand({ UserName: 'ci-app', PolicyArn }),
      );
      await expect(
        iam.send(
          new DetachUserPolicyCommand({ UserName: 'ci-app', PolicyArn }),
        ),
      ).rejects.toMatchObject({
        name: 'NoSuchEntityException',
      });
    });
  });
});

describe('xml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a b="c">&'`)).toBe(
      '&lt;a b=&quot;c&quot;&gt;&amp;&apos;',
    );
  });

  it('writes lists as member elements and leaves out missing values', () => {
    expect(
      xmlElement('R', {
        Tags: [{ Key: 'k', Value: 'v' }],
        None: undefined,
        Empty: [],
        N: 1,
        B: false,
      }),
    ).toBe(
      '<R><Tags><member><Key>k</Key><Value>v</Value></member></Tags><Empty></Empty><N>1</N><B>false</B></R>',
    );
  });
});
