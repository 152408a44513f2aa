import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ECRServiceException,
  InvalidParameterException,
  LimitExceededException,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException,
  ServerException,
  ValidationException,
} from '@aws-sdk/client-ecr';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRoleCommand,
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteUserCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  EntityAlreadyExistsException,
  GetPolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  IAMServiceException,
  InvalidInputException,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  ServiceFailureException,
} from '@aws-sdk/client-iam';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { renderEcrLifecyclePolicy } from './ecr';
import { AwsRegistryClient } from './AwsRegistryClient';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const REPO = 'payments-api';
const REPO_ARN = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPO}`;
const REPO_URI = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPO}`;
const POLICY = 'golden-path-ecr-payments-api';
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/${POLICY}`;
const USER = 'ci-payments-api';
const KEY_ID = 'TESTACCESSKEYID00001';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
const TAGS = { 'golden-path/app': REPO, owner: 'team-payments' };
const TAG_LIST = [
  { Key: 'golden-path/app', Value: REPO },
  { Key: 'owner', Value: 'team-payments' },
];

const meta = { $metadata: {} };

function ecrError(name: string, message = `${name} for ${REPO}`) {
  return new ECRServiceException({ name, message, $fault: 'client', ...meta });
}

function iamError(name: string, message = `${name} for ${USER}`) {
  return new IAMServiceException({ name, message, $fault: 'client', ...meta });
}

const noSuchEntity = () =>
  new NoSuchEntityException({ message: 'The entity cannot be found', ...meta });

/** Names of the commands the mock received, in order. */
function commandNames(mock: AwsClientStub<any>): string[] {
  return mock.calls().map(call => call.args[0].constructor.name);
}

describe('AwsRegistryClient', () => {
  let ecr: ECRClient;
  let iam: IAMClient;
  let ecrMock: AwsClientStub<ECRClient>;
  let iamMock: AwsClientStub<IAMClient>;
  let logger: ReturnType<typeof mockServices.logger.mock>;
  let client: AwsRegistryClient;

  /** Every string handed to the logger, serialised. */
  function loggedText(): string {
    return JSON.stringify(
      [logger.error, logger.warn, logger.info, logger.debug].flatMap(
        fn => fn.mock.calls,
      ),
    );
  }

  beforeEach(() => {
    ecr = new ECRClient({ region: REGION });
    iam = new IAMClient({ region: REGION });
    ecrMock = mockClient(ecr);
    iamMock = mockClient(iam);
    logger = mockServices.logger.mock();
    client = new AwsRegistryClient({
      ecr,
      iam,
      accountId: ACCOUNT,
      region: REGION,
      lifecyclePolicy: renderEcrLifecyclePolicy(),
      logger,
    });
  });

  afterEach(() => {
    ecrMock.restore();
    iamMock.restore();
  });

  describe('createRepository', () => {
    beforeEach(() => {
      ecrMock.on(CreateRepositoryCommand).resolves({
        repository: {
          repositoryName: REPO,
          repositoryArn: REPO_ARN,
          repositoryUri: REPO_URI,
        },
      });
      ecrMock.on(PutLifecyclePolicyCommand).resolves({});
      ecrMock.on(DeleteRepositoryCommand).resolves({});
    });

    it('creates an immutable, scanned, AES256-encrypted, tagged repository', async () => {
      await client.createRepository(REPO, TAGS);

      const calls = ecrMock.commandCalls(
        CreateRepositoryCommand,
        {
          registryId: ACCOUNT,
          repositoryName: REPO,
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfiguration: { encryptionType: 'AES256' },
          tags: TAG_LIST,
        },
        true,
      );
      expect(calls).toHaveLength(1);
    });

    it('puts a lifecycle policy that keeps the last 30 images', async () => {
      await client.createRepository(REPO, TAGS);

      const [call] = ecrMock.commandCalls(PutLifecyclePolicyCommand, {
        registryId: ACCOUNT,
        repositoryName: REPO,
      });
      expect(JSON.parse(call.args[0].input.lifecyclePolicyText!)).toEqual({
        rules: [
          expect.objectContaining({
            rulePriority: 1,
            selection: {
              tagStatus: 'any',
              countType: 'imageCountMoreThan',
              countNumber: 30,
            },
            action: { type: 'expire' },
          }),
        ],
      });
    });

    it('returns the repository with its URI and tags', async () => {
      await expect(client.createRepository(REPO, TAGS)).resolves.toEqual({
        name: REPO,
        arn: REPO_ARN,
        uri: REPO_URI,
        tags: TAGS,
      });
    });

    it('deletes the new repository when the lifecycle policy fails, then rethrows', async () => {
      ecrMock
        .on(PutLifecyclePolicyCommand)
        .rejects(new InvalidParameterException({ message: 'bad', ...meta }));

      await expect(client.createRepository(REPO, TAGS)).rejects.toThrow(
        InputError,
      );
      expect(
        ecrMock.commandCalls(DeleteRepositoryCommand, {
          registryId: ACCOUNT,
          repositoryName: REPO,
          force: true,
        }),
      ).toHaveLength(1);
      expect(commandNames(ecrMock)).toEqual([
        'CreateRepositoryCommand',
        'PutLifecyclePolicyCommand',
        'DeleteRepositoryCommand',
      ]);
    });

    it('rethrows the lifecycle error and logs when the cleanup delete also fails', async () => {
      ecrMock
        .on(PutLifecyclePolicyCommand)
        .rejects(ecrError('ThrottlingException'));
      ecrMock
        .on(DeleteRepositoryCommand)
        .rejects(ecrError('AccessDeniedException'));

      const error = await client.createRepository(REPO, TAGS).catch(e => e);

      expect(error).toBeInstanceOf(ForwardedError);
      expect(error.message).toContain(
        `lifecycle policy on ECR repository '${REPO}'`,
      );
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringContaining(`delete ECR repository '${REPO}'`),
      );
    });

    it('fails with ConflictError, and touches nothing, when the repository exists', async () => {
      ecrMock
        .on(CreateRepositoryCommand)
        .rejects(
          new RepositoryAlreadyExistsException({ message: 'exists', ...meta }),
        );

      await expect(client.createRepository(REPO, TAGS)).rejects.toThrow(
        ConflictError,
      );
      expect(ecrMock.commandCalls(PutLifecyclePolicyCommand)).toHaveLength(0);
      expect(ecrMock.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    });
  });

  describe('findRepository', () => {
    it('returns the repository with its URI and tags', async () => {
      ecrMock
        .on(DescribeRepositoriesCommand, {
          registryId: ACCOUNT,
          repositoryNames: [REPO],
        })
        .resolves({
          repositories: [
            {
              repositoryName: REPO,
              repositoryArn: REPO_ARN,
              repositoryUri: REPO_URI,
            },
          ],
        });
      ecrMock
        .on(ListTagsForResourceCommand, { resourceArn: REPO_ARN })
        .resolves({ tags: TAG_LIST });

      await expect(client.findRepository(REPO)).resolves.toEqual({
        name: REPO,
        arn: REPO_ARN,
        uri: REPO_URI,
        tags: TAGS,
      });
    });

    it('returns undefined when the repository does not exist', async () => {
      ecrMock
        .on(DescribeRepositoriesCommand)
        .rejects(new RepositoryNotFoundException({ message: 'nope', ...meta }));

      await expect(client.findRepository(REPO)).resolves.toBeUndefined();
      expect(ecrMock.commandCalls(ListTagsForResourceCommand)).toHaveLength(0);
    });
  });

  describe('deleteRepository', () => {
    it('force-deletes the repository with its images', async () => {
      ecrMock.on(DeleteRepositoryCommand).resolves({});

      await client.deleteRepository(REPO);

      expect(
        ecrMock.commandCalls(
          DeleteRepositoryCommand,
          { registryId: ACCOUNT, repositoryName: REPO, force: true },
          true,
        ),
      ).toHaveLength(1);
    });

    it('treats a missing repository as deleted', async () => {
      ecrMock
        .on(DeleteRepositoryCommand)
        .rejects(new RepositoryNotFoundException({ message: 'nope', ...meta }));

      await expect(client.deleteRepository(REPO)).resolves.toBeUndefined();
    });

    it('fails on other errors', async () => {
      ecrMock
        .on(DeleteRepositoryCommand)
        .rejects(ecrError('AccessDeniedException'));

      await expect(client.deleteRepository(REPO)).rejects.toThrow(
        NotAllowedError,
      );
    });
  });

  describe('findPolicy', () => {
    it('gets the policy by ARN in the configured account, with its tags', async () => {
      iamMock
        .on(GetPolicyCommand, { PolicyArn: POLICY_ARN })
        .resolves({ Policy: { PolicyName: POLICY, Arn: POLICY_ARN } });
      iamMock
        .on(ListPolicyTagsCommand, { PolicyArn: POLICY_ARN })
        .resolves({ Tags: TAG_LIST, IsTruncated: false });

      await expect(client.findPolicy(POLICY)).resolves.toEqual({
        name: POLICY,
        arn: POLICY_ARN,
        tags: TAGS,
      });
    });

    it('returns undefined when the policy does not exist', async () => {
      iamMock.on(GetPolicyCommand).rejects(noSuchEntity());

      await expect(client.findPolicy(POLICY)).resolves.toBeUndefined();
      expect(iamMock.commandCalls(ListPolicyTagsCommand)).toHaveLength(0);
    });

    it('builds the ARN in the partition of the region', async () => {
      const govClient = new AwsRegistryClient({
        ecr,
        iam,
        accountId: ACCOUNT,
        region: 'us-gov-west-1',
        lifecyclePolicy: renderEcrLifecyclePolicy(),
      });
      iamMock.on(GetPolicyCommand).rejects(noSuchEntity());

      await govClient.findPolicy(POLICY);

      expect(
        iamMock.commandCalls(GetPolicyCommand, {
          PolicyArn: `arn:aws-us-gov:iam::${ACCOUNT}:policy/${POLICY}`,
        }),
      ).toHaveLength(1);
    });
  });

  describe('createPolicy', () => {
    const document = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['ecr:PutImage'], Resource: REPO_ARN },
      ],
    };

    it('creates the policy from the JSON document with tags', async () => {
      iamMock
        .on(CreatePolicyCommand)
        .resolves({ Policy: { PolicyName: POLICY, Arn: POLICY_ARN } });

      await expect(
        client.createPolicy(POLICY, document, TAGS),
      ).resolves.toEqual({
        name: POLICY,
        arn: POLICY_ARN,
        tags: TAGS,
      });
      const [call] = iamMock.commandCalls(CreatePolicyCommand, {
        PolicyName: POLICY,
        Tags: TAG_LIST,
      });
      expect(JSON.parse(call.args[0].input.PolicyDocument!)).toEqual(document);
    });

    it('fails with ConflictError when the policy exists', async () => {
      iamMock
        .on(CreatePolicyCommand)
        .rejects(
          new EntityAlreadyExistsException({ message: 'exists', ...meta }),
        );

      await expect(client.createPolicy(POLICY, document, TAGS)).rejects.toThrow(
        ConflictError,
      );
    });
  });

  describe('deletePolicy', () => {
    beforeEach(() => {
      iamMock.on(ListEntitiesForPolicyCommand).resolves({
        PolicyUsers: [{ UserName: 'u1' }, { UserName: 'u2' }],
        PolicyRoles: [{ RoleName: 'r1' }],
        PolicyGroups: [{ GroupName: 'g1' }],
        IsTruncated: false,
      });
      iamMock.on(ListPolicyVersionsCommand).resolves({
        Versions: [
          { VersionId: 'v3', IsDefaultVersion: true },
          { VersionId: 'v2', IsDefaultVersion: false },
          { VersionId: 'v1', IsDefaultVersion: false },
        ],
        IsTruncated: false,
      });
      iamMock.on(DetachUserPolicyCommand).resolves({});
      iamMock.on(DetachRolePolicyCommand).resolves({});
      iamMock.on(DetachGroupPolicyCommand).resolves({});
      iamMock.on(DeletePolicyVersionCommand).resolves({});
      iamMock.on(DeletePolicyCommand).resolves({});
    });

    it('detaches the policy from every user, role and group', async () => {
      await client.deletePolicy(POLICY_ARN);

      for (const UserName of ['u1', 'u2']) {
        expect(
          iamMock.commandCalls(DetachUserPolicyCommand, {
            PolicyArn: POLICY_ARN,
            UserName,
          }),
        ).toHaveLength(1);
      }
      expect(
        iamMock.commandCalls(DetachRolePolicyCommand, {
          PolicyArn: POLICY_ARN,
          RoleName: 'r1',
        }),
      ).toHaveLength(1);
      expect(
        iamMock.commandCalls(DetachGroupPolicyCommand, {
          PolicyArn: POLICY_ARN,
          GroupName: 'g1',
        }),
      ).toHaveLength(1);
    });

    it('deletes the non-default versions only', async () => {
      await client.deletePolicy(POLICY_ARN);

      const deleted = iamMock
        .commandCalls(DeletePolicyVersionCommand, { PolicyArn: POLICY_ARN })
        .map(call => call.args[0].input.VersionId);
      expect(deleted.sort()).toEqual(['v1', 'v2']);
    });

    it('deletes the policy only after every detach and version delete', async () => {
      await client.deletePolicy(POLICY_ARN);

      const names = commandNames(iamMock);
      expect(names[names.length - 1]).toBe('DeletePolicyCommand');
      expect(names.filter(n => n === 'DeletePolicyCommand')).toHaveLength(1);
      const before = names.slice(0, -1);
      expect(before.filter(n => n.startsWith('Detach'))).toHaveLength(4);
      expect(
        before.filter(n => n === 'DeletePolicyVersionCommand'),
      ).toHaveLength(2);
      expect(
        iamMock.commandCalls(DeletePolicyCommand, { PolicyArn: POLICY_ARN }),
      ).toHaveLength(1);
    });

    it('follows every page of attached entities', async () => {
      iamMock
        .on(ListEntitiesForPolicyCommand)
        .resolvesOnce({
          PolicyUsers: [{ UserName: 'u1' }],
          IsTruncated: true,
          Marker: 'm1',
        })
        .resolvesOnce({
          PolicyUsers: [{ UserName: 'u9' }],
          IsTruncated: false,
        });

      await client.deletePolicy(POLICY_ARN);

      expect(
        iamMock.commandCalls(ListEntitiesForPolicyCommand, { Marker: 'm1' }),
      ).toHaveLength(1);
      expect(
        iamMock.commandCalls(DetachUserPolicyCommand, { UserName: 'u9' }),
      ).toHaveLength(1);
    });

    it('treats a missing policy as deleted', async () => {
      iamMock.on(ListEntitiesForPolicyCommand).rejects(noSuchEntity());

      await expect(client.deletePolicy(POLICY_ARN)).resolves.toBeUndefined();
      expect(iamMock.commandCalls(DeletePolicyCommand)).toHaveLength(0);
    });

    it('treats a policy deleted meanwhile as deleted', async () => {
      iamMock.on(DeletePolicyCommand).rejects(noSuchEntity());

      await expect(client.deletePolicy(POLICY_ARN)).resolves.toBeUndefined();
    });

    it('skips an entity that vanished meanwhile and still deletes the policy', async () => {
      iamMock
        .on(DetachUserPolicyCommand, { UserName: 'u1' })
        .rejects(noSuchEntity());

      await client.deletePolicy(POLICY_ARN);

      expect(iamMock.commandCalls(DeletePolicyCommand)).toHaveLength(1);
    });
  });

  describe('createCiUser', () => {
    beforeEach(() => {
      iamMock.on(CreateUserCommand).resolves({ User: undefined });
      iamMock.on(AttachUserPolicyCommand).resolves({});
      iamMock.on(CreateAccessKeyCommand).resolves({
        AccessKey: {
          UserName: USER,
          AccessKeyId: KEY_ID,
          SecretAccessKey: SECRET,
          Status: 'Active',
        },
      });
      iamMock.on(DeleteAccessKeyCommand).resolves({});
      iamMock.on(DetachUserPolicyCommand).resolves({});
      iamMock.on(DeleteUserCommand).resolves({});
    });

    it('creates the tagged user, attaches the policy and returns one access key', async () => {
      await expect(
        client.createCiUser(USER, POLICY_ARN, TAGS),
      ).resolves.toEqual({
        userName: USER,
        accessKeyId: KEY_ID,
        secretAccessKey: SECRET,
      });
      expect(
        iamMock.commandCalls(
          CreateUserCommand,
          { UserName: USER, Tags: TAG_LIST },
          true,
        ),
      ).toHaveLength(1);
      expect(
        iamMock.commandCalls(AttachUserPolicyCommand, {
          UserName: USER,
          PolicyArn: POLICY_ARN,
        }),
      ).toHaveLength(1);
      expect(
        iamMock.commandCalls(CreateAccessKeyCommand, { UserName: USER }),
      ).toHaveLength(1);
    });

    it('fails with ConflictError, and deletes nothing, when the user exists', async () => {
      iamMock
        .on(CreateUserCommand)
        .rejects(
          new EntityAlreadyExistsException({ message: 'exists', ...meta }),
        );

      await expect(client.createCiUser(USER, POLICY_ARN, TAGS)).rejects.toThrow(
        ConflictError,
      );
      expect(commandNames(iamMock)).toEqual(['CreateUserCommand']);
    });

    it('deletes the user when attaching the policy fails', async () => {
      iamMock.on(AttachUserPolicyCommand).rejects(noSuchEntity());

      await expect(client.createCiUser(USER, POLICY_ARN, TAGS)).rejects.toThrow(
        NotFoundError,
      );
      expect(commandNames(iamMock)).toEqual([
        'CreateUserCommand',
        'AttachUserPolicyCommand',
        'DeleteUserCommand',
      ]);
      expect(
        iamMock.commandCalls(DeleteUserCommand, { UserName: USER }),
      ).toHaveLength(1);
    });

    it('detaches the policy and deletes the user when creating the key fails', async () => {
      iamMock
        .on(CreateAccessKeyCommand)
        .rejects(new ServiceFailureException({ message: 'boom', ...meta }));

      await expect(client.createCiUser(USER, POLICY_ARN, TAGS)).rejects.toThrow(
        ForwardedError,
      );
      expect(
        iamMock.commandCalls(DetachUserPolicyCommand, {
          UserName: USER,
          PolicyArn: POLICY_ARN,
        }),
      ).toHaveLength(1);
      expect(commandNames(iamMock).slice(-2)).toEqual([
        'DetachUserPolicyCommand',
        'DeleteUserCommand',
      ]);
    });

    it('deletes the key, detaches and deletes the user when the key comes back incomplete', async () => {
      iamMock
        .on(CreateAccessKeyCommand)
        .resolves({ AccessKey: { AccessKeyId: KEY_ID } as any });

      await expect(client.createCiUser(USER, POLICY_ARN, TAGS)).rejects.toThrow(
        /incomplete access key/,
      );
      expect(commandNames(iamMock).slice(-3)).toEqual([
        'DeleteAccessKeyCommand',
        'DetachUserPolicyCommand',
        'DeleteUserCommand',
      ]);
      expect(
        iamMock.commandCalls(DeleteAccessKeyCommand, {
          UserName: USER,
          AccessKeyId: KEY_ID,
        }),
      ).toHaveLength(1);
    });

    it('rethrows the original error and logs when the cleanup also fails', async () => {
      iamMock.on(AttachUserPolicyCommand).rejects(iamError('AccessDenied'));
      iamMock.on(DeleteUserCommand).rejects(iamError('ServiceFailure'));

      await expect(client.createCiUser(USER, POLICY_ARN, TAGS)).rejects.toThrow(
        NotAllowedError,
      );
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringContaining(`delete IAM user '${USER}'`),
      );
    });

    it('never puts the secret access key in a log line', async () => {
      await client.createCiUser(USER, POLICY_ARN, TAGS);

      expect(logger.info).toHaveBeenCalled();
      expect(loggedText()).not.toContain(SECRET);
    });

    it.each([
      ['the key has no id', { SecretAccessKey: SECRET }],
      ['the key id is empty', { AccessKeyId: '', SecretAccessKey: SECRET }],
    ])(
      'never puts the secret access key in an error or log line when %s',
      async (_, accessKey) => {
        iamMock
          .on(CreateAccessKeyCommand)
          .resolves({ AccessKey: accessKey as any });
        iamMock.on(DeleteUserCommand).rejects(iamError('ServiceFailure'));

        const error = await client
          .createCiUser(USER, POLICY_ARN, TAGS)
          .catch(e => e);

        expect(error).toBeInstanceOf(Error);
        expect(String(error.message)).not.toContain(SECRET);
        expect(String(error.stack)).not.toContain(SECRET);
        expect(logger.warn).toHaveBeenCalled();
        expect(loggedText()).not.toContain(SECRET);
      },
    );
  });

  describe('deleteCiUser', () => {
    beforeEach(() => {
      iamMock.on(ListAccessKeysCommand, { UserName: USER }).resolves({
        AccessKeyMetadata: [{ AccessKeyId: 'AKIA1' }, { AccessKeyId: 'AKIA2' }],
        IsTruncated: false,
      });
      iamMock.on(ListAttachedUserPoliciesCommand, { UserName: USER }).resolves({
        AttachedPolicies: [
          { PolicyArn: POLICY_ARN },
          { PolicyArn: 'arn:aws:iam::aws:policy/Other' },
        ],
        IsTruncated: false,
      });
      iamMock.on(DeleteAccessKeyCommand).resolves({});
      iamMock.on(DetachUserPolicyCommand).resolves({});
      iamMock.on(DeleteUserCommand).resolves({});
    });

    it('deletes every key and detaches every policy before deleting the user', async () => {
      await client.deleteCiUser(USER);

      for (const AccessKeyId of ['AKIA1', 'AKIA2']) {
        expect(
          iamMock.commandCalls(DeleteAccessKeyCommand, {
            UserName: USER,
            AccessKeyId,
          }),
        ).toHaveLength(1);
      }
      for (const PolicyArn of [POLICY_ARN, 'arn:aws:iam::aws:policy/Other']) {
        expect(
          iamMock.commandCalls(DetachUserPolicyCommand, {
            UserName: USER,
            PolicyArn,
          }),
        ).toHaveLength(1);
      }
      const names = commandNames(iamMock);
      expect(names[names.length - 1]).toBe('DeleteUserCommand');
      expect(
        iamMock.commandCalls(DeleteUserCommand, { UserName: USER }),
      ).toHaveLength(1);
    });

    it('treats a missing user as deleted', async () => {
      iamMock.on(ListAccessKeysCommand).rejects(noSuchEntity());

      await expect(client.deleteCiUser(USER)).resolves.toBeUndefined();
      expect(iamMock.commandCalls(DeleteUserCommand)).toHaveLength(0);
    });

    it('treats a user deleted meanwhile as deleted', async () => {
      iamMock.on(DeleteUserCommand).rejects(noSuchEntity());

      await expect(client.deleteCiUser(USER)).resolves.toBeUndefined();
    });
  });

  describe('createCiUser with a permissions boundary', () => {
    it('creates the user with the boundary', async () => {
      iamMock.on(CreateUserCommand).resolves({ User: undefined });
      iamMock.on(AttachUserPolicyCommand).resolves({});
      iamMock.on(CreateAccessKeyCommand).resolves({
        AccessKey: { UserName: USER, AccessKeyId: KEY_ID, SecretAccessKey: SECRET, Status: 'Active' },
      });
      const boundary = `arn:aws:iam::${ACCOUNT}:policy/idp-permissions-boundary`;
      await client.createCiUser(USER, POLICY_ARN, TAGS, boundary);
      expect(
        iamMock.commandCalls(CreateUserCommand, {
          UserName: USER,
          PermissionsBoundary: boundary,
        }),
      ).toHaveLength(1);
    });
  });

  describe('ensurePolicy', () => {
    const BOUNDARY = 'idp-permissions-boundary';
    const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/${BOUNDARY}`;
    const document = { Version: '2012-10-17', Statement: [] };

    it('uses an existing policy of that name as it is', async () => {
      iamMock
        .on(GetPolicyCommand)
        .resolves({ Policy: { PolicyName: BOUNDARY, Arn: BOUNDARY_ARN } });
      iamMock.on(ListPolicyTagsCommand).resolves({ Tags: [] });
      await expect(client.ensurePolicy(BOUNDARY, document, {})).resolves.toEqual({
        name: BOUNDARY,
        arn: BOUNDARY_ARN,
        tags: {},
      });
      expect(iamMock.commandCalls(CreatePolicyCommand)).toHaveLength(0);
    });

    it('creates it when missing', async () => {
      iamMock.on(GetPolicyCommand).rejects(noSuchEntity());
      iamMock.on(CreatePolicyCommand).resolves({ Policy: { Arn: BOUNDARY_ARN } });
      await expect(
        client.ensurePolicy(BOUNDARY, document, { 'managed-by': 'golden-path-idp' }),
      ).resolves.toMatchObject({ arn: BOUNDARY_ARN });
      expect(
        iamMock.commandCalls(CreatePolicyCommand, {
          PolicyName: BOUNDARY,
          PolicyDocument: JSON.stringify(document),
        }),
      ).toHaveLength(1);
    });

    it('takes the one a concurrent Create made a moment ago', async () => {
      iamMock
        .on(GetPolicyCommand)
        .rejectsOnce(noSuchEntity())
        .resolves({ Policy: { PolicyName: BOUNDARY, Arn: BOUNDARY_ARN } });
      iamMock.on(ListPolicyTagsCommand).resolves({ Tags: [] });
      iamMock
        .on(CreatePolicyCommand)
        .rejects(new EntityAlreadyExistsException({ message: 'exists', ...meta }));
      await expect(client.ensurePolicy(BOUNDARY, document, {})).resolves.toMatchObject({
        arn: BOUNDARY_ARN,
      });
    });
  });

  describe('roles', () => {
    const ROLE = 'idp-payments-api-ci';
    const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`;
    const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/idp-permissions-boundary`;
    const trustPolicy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Federated: 'x' }, Action: 'sts:AssumeRoleWithWebIdentity' }],
    };
    const create = () =>
      client.createRole(ROLE, {
        trustPolicy,
        boundaryArn: BOUNDARY_ARN,
        policyArns: [POLICY_ARN],
        tags: TAGS,
        description: 'CI of apps/payments-api',
      });

    it('creates the role with its trust policy, boundary and tags, then attaches the policy', async () => {
      iamMock.on(CreateRoleCommand).resolves({ Role: { Arn: ROLE_ARN } as any });
      iamMock.on(AttachRolePolicyCommand).resolves({});
      await expect(create()).resolves.toMatchObject({
        name: ROLE,
        arn: ROLE_ARN,
        permissionsBoundaryArn: BOUNDARY_ARN,
      });
      expect(
        iamMock.commandCalls(
          CreateRoleCommand,
          {
            RoleName: ROLE,
            AssumeRolePolicyDocument: JSON.stringify(trustPolicy),
            PermissionsBoundary: BOUNDARY_ARN,
            Tags: TAG_LIST,
          },
        ),
      ).toHaveLength(1);
      expect(
        iamMock.commandCalls(AttachRolePolicyCommand, { RoleName: ROLE, PolicyArn: POLICY_ARN }),
      ).toHaveLength(1);
    });

    it('deletes the new role when attaching fails, then rethrows', async () => {
      iamMock.on(CreateRoleCommand).resolves({ Role: { Arn: ROLE_ARN } as any });
      iamMock.on(AttachRolePolicyCommand).rejects(iamError('AccessDenied'));
      iamMock.on(DeleteRoleCommand).resolves({});
      await expect(create()).rejects.toThrow(NotAllowedError);
      expect(iamMock.commandCalls(DeleteRoleCommand, { RoleName: ROLE })).toHaveLength(1);
    });

    it('fails with ConflictError when the role exists', async () => {
      iamMock
        .on(CreateRoleCommand)
        .rejects(new EntityAlreadyExistsException({ message: 'exists', ...meta }));
      await expect(create()).rejects.toThrow(ConflictError);
      expect(iamMock.commandCalls(DeleteRoleCommand)).toHaveLength(0);
    });

    it('reads the role with its decoded trust policy, boundary and tags', async () => {
      iamMock.on(GetRoleCommand, { RoleName: ROLE }).resolves({
        Role: {
          RoleName: ROLE,
          Arn: ROLE_ARN,
          AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trustPolicy)),
          PermissionsBoundary: { PermissionsBoundaryArn: BOUNDARY_ARN },
          Tags: TAG_LIST,
        } as any,
      });
      await expect(client.findRole(ROLE)).resolves.toEqual({
        name: ROLE,
        arn: ROLE_ARN,
        tags: TAGS,
        permissionsBoundaryArn: BOUNDARY_ARN,
        trustPolicy,
      });
    });

    it('finds nothing for a missing role', async () => {
      iamMock.on(GetRoleCommand).rejects(noSuchEntity());
      await expect(client.findRole(ROLE)).resolves.toBeUndefined();
    });

    it('detaches every policy, then deletes the role; missing = done', async () => {
      iamMock.on(ListAttachedRolePoliciesCommand).resolves({
        AttachedPolicies: [{ PolicyArn: POLICY_ARN }],
      });
      iamMock.on(DetachRolePolicyCommand).resolves({});
      iamMock.on(DeleteRoleCommand).resolves({});
      await client.deleteRole(ROLE);
      expect(commandNames(iamMock)).toEqual([
        'ListAttachedRolePoliciesCommand',
        'DetachRolePolicyCommand',
        'DeleteRoleCommand',
      ]);
      iamMock.reset();
      iamMock.on(ListAttachedRolePoliciesCommand).rejects(noSuchEntity());
      await expect(client.deleteRole(ROLE)).resolves.toBeUndefined();
      expect(commandNames(iamMock)).toEqual(['ListAttachedRolePoliciesCommand']);
    });
  });

  describe('userExists', () => {
    it('is true when the user exists', async () => {
      iamMock
        .on(GetUserCommand, { UserName: USER })
        .resolves({ User: { UserName: USER } as any });

      await expect(client.userExists(USER)).resolves.toBe(true);
    });

    it('is false when the user does not exist', async () => {
      iamMock.on(GetUserCommand).rejects(noSuchEntity());

      await expect(client.userExists(USER)).resolves.toBe(false);
    });

    it('fails on other errors', async () => {
      iamMock.on(GetUserCommand).rejects(iamError('AccessDenied'));

      await expect(client.userExists(USER)).rejects.toThrow(NotAllowedError);
    });
  });

  describe('error mapping', () => {
    const m = (message: string) => ({ message, ...meta });
    /** One create call per client; the mapping is the same for every call. */
    const surfaces = () => ({
      ecr: {
        failWith: (e: Error) => ecrMock.on(CreateRepositoryCommand).rejects(e),
        run: () => client.createRepository(REPO, TAGS),
        resource: `ECR repository '${REPO}'`,
      },
      iam: {
        failWith: (e: Error) => iamMock.on(CreatePolicyCommand).rejects(e),
        run: () => client.createPolicy(POLICY, {}, TAGS),
        resource: `IAM policy '${POLICY}'`,
      },
    });
    it.each<
      [string, 'ecr' | 'iam', () => Error, new (...args: any[]) => Error]
    >([
      [
        'RepositoryNotFoundException',
        'ecr',
        () => new RepositoryNotFoundException(m('x')),
        NotFoundError,
      ],
      ['NoSuchEntityException', 'iam', () => noSuchEntity(), NotFoundError],
      ['NoSuchEntity', 'iam', () => iamError('NoSuchEntity'), NotFoundError],
      [
        'RepositoryAlreadyExistsException',
        'ecr',
        () => new RepositoryAlreadyExistsException(m('x')),
        ConflictError,
      ],
      [
        'EntityAlreadyExistsException',
        'iam',
        () => new EntityAlreadyExistsException(m('x')),
        ConflictError,
      ],
      [
        'EntityAlreadyExists',
        'iam',
        () => iamError('EntityAlreadyExists'),
        ConflictError,
      ],
      ['AccessDenied', 'iam', () => iamError('AccessDenied'), NotAllowedError],
      [
        'AccessDeniedException',
        'ecr',
        () => ecrError('AccessDeniedException'),
        NotAllowedError,
      ],
      [
        'UnauthorizedOperation',
        'iam',
        () => iamError('UnauthorizedOperation'),
        NotAllowedError,
      ],
      [
        'InvalidParameterException',
        'ecr',
        () => new InvalidParameterException(m('x')),
        InputError,
      ],
      [
        'InvalidParameterValue',
        'iam',
        () => iamError('InvalidParameterValue'),
        InputError,
      ],
      [
        'InvalidInputException',
        'iam',
        () => new InvalidInputException(m('x')),
        InputError,
      ],
      [
        'MalformedPolicyDocumentException',
        'iam',
        () => new MalformedPolicyDocumentException(m('x')),
        InputError,
      ],
      [
        'MalformedPolicyDocument',
        'iam',
        () => iamError('MalformedPolicyDocument'),
        InputError,
      ],
      ['ValidationError', 'iam', () => iamError('ValidationError'), InputError],
      [
        'ValidationException',
        'ecr',
        () => new ValidationException(m('x')),
        InputError,
      ],
      [
        'LimitExceededException',
        'ecr',
        () => new LimitExceededException(m('x')),
        ForwardedError,
      ],
      [
        'ServerException',
        'ecr',
        () => new ServerException(m('x')),
        ForwardedError,
      ],
      [
        'ServiceFailureException',
        'iam',
        () => new ServiceFailureException(m('x')),
        ForwardedError,
      ],
      ['Throttling', 'iam', () => iamError('Throttling'), ForwardedError],
    ])(
      'maps %s (%s) to the right Backstage error, keeping the cause',
      async (_, via, makeError, expected) => {
        const cause = makeError();
        const surface = surfaces()[via];
        surface.failWith(cause);

        const error = await surface.run().catch(e => e);

        expect(error.message).toContain(surface.resource);
        expect(error).toBeInstanceOf(expected);
        expect(error.cause).toBe(cause);
      },
    );
  });
});

describe('AwsRegistryClient.fromConfig', () => {
  const CREDENTIAL_ENV = [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  ];
  const savedEnv = { ...process.env };

  beforeEach(() => {
    // No credentials anywhere: no env, no files, no instance metadata.
    for (const key of CREDENTIAL_ENV) delete process.env[key];
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws/config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws/credentials';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
  });

  afterEach(() => {
    process.env = { ...savedEnv };
  });

  /** The SDK clients fromConfig built (private fields, read for the test). */
  const sdk = (client: AwsRegistryClient) =>
    client as unknown as { ecr: ECRClient; iam: IAMClient };

  const configWith = (aws: Record<string, string>) =>
    new ConfigReader({ goldenPath: { aws } });

  it('uses the configured region and the default AWS endpoints without an override', async () => {
    const client = AwsRegistryClient.fromConfig(
      configWith({ accountId: ACCOUNT, region: REGION }),
    );

    for (const sdkClient of [sdk(client).ecr, sdk(client).iam]) {
      await expect(sdkClient.config.region()).resolves.toBe(REGION);
      expect(sdkClient.config.endpoint).toBeUndefined();
    }
  });

  it('never falls back to dummy credentials without an endpoint override', async () => {
    const client = AwsRegistryClient.fromConfig(
      configWith({ accountId: ACCOUNT, region: REGION }),
    );

    await expect(sdk(client).ecr.config.credentials()).rejects.toThrow();
  });

  it('points both clients at the endpoint override', async () => {
    const client = AwsRegistryClient.fromConfig(
      configWith({
        accountId: ACCOUNT,
        region: REGION,
        endpoint: 'http://localhost:4566',
      }),
    );

    for (const sdkClient of [sdk(client).ecr, sdk(client).iam]) {
      const endpoint = await sdkClient.config.endpoint!();
      expect(endpoint).toMatchObject({
        protocol: 'http:',
        hostname: 'localhost',
        port: 4566,
      });
    }
  });

  it('uses dummy credentials with an endpoint override when the default chain has none', async () => {
    const client = AwsRegistryClient.fromConfig(
      configWith({
        accountId: ACCOUNT,
        region: REGION,
        endpoint: 'http://localhost:4566',
      }),
    );

    const credentials = await sdk(client).iam.config.credentials();
    expect(credentials.accessKeyId).toMatch(/^sandbox/);
  });

  it('prefers the default chain over dummy credentials with an endpoint override', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ENVACCESSKEYID000001';
    process.env.AWS_SECRET_ACCESS_KEY = 'from-environment';
    const client = AwsRegistryClient.fromConfig(
      configWith({
        accountId: ACCOUNT,
        region: REGION,
        endpoint: 'http://localhost:4566',
      }),
    );

    const credentials = await sdk(client).ecr.config.credentials();
    expect(credentials).toMatchObject({
      accessKeyId: 'ENVACCESSKEYID000001',
      secretAccessKey: 'from-environment',
    });
  });

  it('puts the rendered "keep the last 30 images" lifecycle policy on new repositories', async () => {
    const client = AwsRegistryClient.fromConfig(
      configWith({ accountId: ACCOUNT, region: REGION }),
    );
    const ecrMock = mockClient(sdk(client).ecr);
    ecrMock.on(CreateRepositoryCommand).resolves({
      repository: { repositoryArn: REPO_ARN, repositoryUri: REPO_URI },
    });
    ecrMock.on(PutLifecyclePolicyCommand).resolves({});

    await client.createRepository(REPO, {});

    const [call] = ecrMock.commandCalls(PutLifecyclePolicyCommand);
    expect(JSON.parse(call.args[0].input.lifecyclePolicyText!)).toEqual(
      renderEcrLifecyclePolicy(),
    );
    expect(renderEcrLifecyclePolicy().rules[0].selection.countNumber).toBe(30);
    ecrMock.restore();
  });

  it('requires the account id and region', () => {
    expect(() =>
      AwsRegistryClient.fromConfig(configWith({ region: REGION })),
    ).toThrow(/accountId/);
    expect(() =>
      AwsRegistryClient.fromConfig(configWith({ accountId: ACCOUNT })),
    ).toThrow(/region/);
  });
});
