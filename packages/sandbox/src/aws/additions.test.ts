import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import {
  CreateRepositoryCommand,
  ECRClient,
  ListTagsForResourceCommand,
  paginateDescribeRepositories,
} from '@aws-sdk/client-ecr';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateOpenIDConnectProviderCommand,
  CreateUserCommand,
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListRoleTagsCommand,
  ListUserTagsCommand,
  PutRolePermissionsBoundaryCommand,
  paginateListPolicies,
  paginateListRoles,
  paginateListUsers,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import { SANDBOX_CLUSTER_OIDC_ISSUER, awsFake } from '.';

const stub: SandboxFakeFactory = () => ({ router: express.Router(), operationOf: () => 'x' });
const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }],
});
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('awsFake: roles, lists, ECR paging and Secrets Manager', () => {
  let dataDir: string;
  let sandbox: RunningSandbox;
  let iam: IAMClient;
  let ecr: ECRClient;
  let secrets: SecretsManagerClient;

  const start = async () => {
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
    iam = new IAMClient(config);
    ecr = new ECRClient(config);
    secrets = new SecretsManagerClient(config);
  };

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-aws-more-'));
    await start();
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('manages roles: trust policy, tags, boundary, attachments, and no delete while attached', async () => {
    const { Policy } = await iam.send(new CreatePolicyCommand({ PolicyName: 'app-access', PolicyDocument: DOCUMENT }));
    const { Policy: boundary } = await iam.send(new CreatePolicyCommand({ PolicyName: 'boundary', PolicyDocument: DOCUMENT }));
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: 'app-role',
        Path: '/apps/',
        AssumeRolePolicyDocument: TRUST,
        Description: 'The app',
        PermissionsBoundary: boundary!.Arn,
        Tags: [{ Key: 'golden-path/app', Value: 'payments' }],
      }),
    );
    expect(created.Role).toMatchObject({
      RoleName: 'app-role',
      Path: '/apps/',
      Arn: 'arn:aws:iam::000000000000:role/apps/app-role',
      MaxSessionDuration: 3600,
      PermissionsBoundary: { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: boundary!.Arn },
    });
    expect(created.Role!.RoleId).toMatch(/^AROA[A-Z0-9]{17}$/);
    expect(JSON.parse(decodeURIComponent(created.Role!.AssumeRolePolicyDocument!))).toEqual(JSON.parse(TRUST));
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'APP-ROLE', AssumeRolePolicyDocument: TRUST })),
    ).rejects.toMatchObject({ name: 'EntityAlreadyExistsException' });
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'has space', AssumeRolePolicyDocument: TRUST })),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'r'.repeat(65), AssumeRolePolicyDocument: TRUST })),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'no-principal', AssumeRolePolicyDocument: DOCUMENT })),
    ).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException' });

    await iam.send(new AttachRolePolicyCommand({ RoleName: 'app-role', PolicyArn: Policy!.Arn }));
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }))).Policy!.AttachmentCount).toBe(1);
    expect((await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: Policy!.Arn }))).PolicyRoles).toEqual([
      { RoleName: 'app-role', RoleId: created.Role!.RoleId },
    ]);
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'app-role' }))).AttachedPolicies).toEqual([
      { PolicyName: 'app-access', PolicyArn: Policy!.Arn },
    ]);
    expect((await iam.send(new ListRoleTagsCommand({ RoleName: 'app-role' }))).Tags).toEqual([
      { Key: 'golden-path/app', Value: 'payments' },
    ]);
    await expect(iam.send(new DeleteRoleCommand({ RoleName: 'app-role' }))).rejects.toMatchObject({
      name: 'DeleteConflictException',
      $metadata: { httpStatusCode: 409 },
    });
    await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: 'app-role', PermissionsBoundary: Policy!.Arn }));
    expect((await iam.send(new GetRoleCommand({ RoleName: 'app-role' }))).Role!.PermissionsBoundary?.PermissionsBoundaryArn).toBe(
      Policy!.Arn,
    );
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'app-role', PolicyArn: Policy!.Arn }));
    await iam.send(new DeleteRoleCommand({ RoleName: 'app-role' }));
    await expect(iam.send(new GetRoleCommand({ RoleName: 'app-role' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });

  it('knows its GitLab and its cluster as OIDC providers, and refuses roles trusting unknown ones', async () => {
    const gitlab = new URL(sandbox.urls.gitlab).host;
    const { OpenIDConnectProviderList } = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(OpenIDConnectProviderList!.map(p => p.Arn)).toEqual(
      expect.arrayContaining([
        `arn:aws:iam::000000000000:oidc-provider/${gitlab}`,
        `arn:aws:iam::000000000000:oidc-provider/${SANDBOX_CLUSTER_OIDC_ISSUER}`,
      ]),
    );
    expect(
      await iam.send(
        new GetOpenIDConnectProviderCommand({
          OpenIDConnectProviderArn: `arn:aws:iam::000000000000:oidc-provider/${SANDBOX_CLUSTER_OIDC_ISSUER}`,
        }),
      ),
    ).toMatchObject({ Url: SANDBOX_CLUSTER_OIDC_ISSUER, ClientIDList: ['sts.amazonaws.com'] });

    const trusting = (host: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::000000000000:oidc-provider/${host}` },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: { [`${host}:aud`]: `https://${host}` } },
          },
        ],
      });
    await iam.send(new CreateRoleCommand({ RoleName: 'ci', AssumeRolePolicyDocument: trusting(gitlab) }));
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'ci-2', AssumeRolePolicyDocument: trusting('gitlab.elsewhere.example') })),
    ).rejects.toMatchObject({ name: 'MalformedPolicyDocumentException', message: expect.stringContaining('Invalid principal') });

    const { OpenIDConnectProviderArn } = await iam.send(
      new CreateOpenIDConnectProviderCommand({ Url: 'https://gitlab.elsewhere.example', ClientIDList: ['x'] }),
    );
    await expect(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: 'https://gitlab.elsewhere.example' })),
    ).rejects.toMatchObject({ name: 'EntityAlreadyExistsException' });
    await iam.send(new CreateRoleCommand({ RoleName: 'ci-2', AssumeRolePolicyDocument: trusting('gitlab.elsewhere.example') }));
    await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn }));
    await expect(
      iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });

  it('puts a permissions boundary on a user, which must exist', async () => {
    const { Policy: boundary } = await iam.send(new CreatePolicyCommand({ PolicyName: 'boundary', PolicyDocument: DOCUMENT }));
    await iam.send(new CreateUserCommand({ UserName: 'ci-user', PermissionsBoundary: boundary!.Arn }));
    expect((await iam.send(new GetUserCommand({ UserName: 'ci-user' }))).User!.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'Policy',
      PermissionsBoundaryArn: boundary!.Arn,
    });
    await expect(
      iam.send(
        new CreateUserCommand({ UserName: 'ci-user-2', PermissionsBoundary: 'arn:aws:iam::000000000000:policy/missing' }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });

  it('pages roles, local policies and users with Marker, and lists user tags', async () => {
    for (let i = 0; i < 5; i++) {
      await iam.send(new CreateRoleCommand({ RoleName: `role-${i}`, Path: i < 3 ? '/team/' : '/', AssumeRolePolicyDocument: TRUST }));
      await iam.send(new CreatePolicyCommand({ PolicyName: `policy-${i}`, PolicyDocument: DOCUMENT }));
      await iam.send(new CreateUserCommand({ UserName: `user-${i}`, Tags: [{ Key: 'n', Value: String(i) }] }));
    }
    const all = async <T>(pages: AsyncIterable<T>, pick: (page: T) => string[]) => {
      const names: string[] = [];
      let count = 0;
      for await (const p of pages) {
        names.push(...pick(p));
        count += 1;
      }
      return { names, pages: count };
    };
    const roles = await all(paginateListRoles({ client: iam, pageSize: 2 }, {}), p => p.Roles!.map(r => r.RoleName!));
    expect(roles).toEqual({ names: ['role-0', 'role-1', 'role-2', 'role-3', 'role-4'], pages: 3 });
    const teamRoles = await all(paginateListRoles({ client: iam, pageSize: 2 }, { PathPrefix: '/team/' }), p =>
      p.Roles!.map(r => r.RoleName!),
    );
    expect(teamRoles.names).toEqual(['role-0', 'role-1', 'role-2']);
    const policies = await all(paginateListPolicies({ client: iam, pageSize: 2 }, { Scope: 'Local' }), p =>
      p.Policies!.map(x => x.PolicyName!),
    );
    expect(policies).toEqual({ names: ['policy-0', 'policy-1', 'policy-2', 'policy-3', 'policy-4'], pages: 3 });
    const users = await all(paginateListUsers({ client: iam, pageSize: 4 }, {}), p => p.Users!.map(u => u.UserName!));
    expect(users).toEqual({ names: ['user-0', 'user-1', 'user-2', 'user-3', 'user-4'], pages: 2 });
    expect((await iam.send(new ListUserTagsCommand({ UserName: 'user-3' }))).Tags).toEqual([{ Key: 'n', Value: '3' }]);
  });

  it('describes every ECR repository a page at a time and lists their tags', async () => {
    for (const name of ['c-app', 'a-app', 'team/b-app', 'd-app', 'e-app']) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: name, tags: [{ Key: 'app', Value: name }] }));
    }
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeRepositories({ client: ecr, pageSize: 2 }, {})) {
      names.push(...page.repositories!.map(r => r.repositoryName!));
      pages += 1;
    }
    expect(names).toEqual(['a-app', 'c-app', 'd-app', 'e-app', 'team/b-app']);
    expect(pages).toBe(3);
    const tags = await ecr.send(
      new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecr:eu-west-1:000000000000:repository/team/b-app' }),
    );
    expect(tags.tags).toEqual([{ Key: 'app', Value: 'team/b-app' }]);
    for (const bad of ['A', 'x', 'a//b', 'a_', `${'a'.repeat(257)}`]) {
      await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: bad }))).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    }
  });

  it('keeps secrets: create, read, new versions, tags, filters, scheduled and forced deletion', async () => {
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: 'apps/payments/db',
        SecretString: '{"password":"one"}',
        Description: 'Database',
        Tags: [{ Key: 'golden-path/app', Value: 'payments' }],
      }),
    );
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:apps\/payments\/db-[A-Za-z0-9]{6}$/);
    await expect(
      secrets.send(new CreateSecretCommand({ Name: 'apps/payments/db', SecretString: 'x' })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });

    const value = await secrets.send(new GetSecretValueCommand({ SecretId: 'apps/payments/db' }));
    expect(value).toMatchObject({ Name: 'apps/payments/db', SecretString: '{"password":"one"}', VersionStages: ['AWSCURRENT'] });
    expect(value.CreatedDate).toBeInstanceOf(Date);
    const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.VersionId).toBe(created.VersionId);

    const put = await secrets.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: '{"password":"two"}' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: 'apps/payments/db' }))).SecretString).toBe('{"password":"two"}');
    const previous = await secrets.send(new GetSecretValueCommand({ SecretId: 'apps/payments/db', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('{"password":"one"}');

    await secrets.send(new TagResourceCommand({ SecretId: 'apps/payments/db', Tags: [{ Key: 'owner', Value: 'team-payments' }] }));
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: 'apps/payments/db' }));
    expect(described).toMatchObject({
      Name: 'apps/payments/db',
      Description: 'Database',
      Tags: [
        { Key: 'golden-path/app', Value: 'payments' },
        { Key: 'owner', Value: 'team-payments' },
      ],
    });
    expect(Object.values(described.VersionIdsToStages!).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);

    await secrets.send(new CreateSecretCommand({ Name: 'apps/orders/db', SecretString: 'x', Tags: [{ Key: 'golden-path/app', Value: 'orders' }] }));
    await secrets.send(new CreateSecretCommand({ Name: 'other', SecretString: 'y' }));
    const list = async (Filters: { Key: any; Values: string[] }[]) =>
      ((await secrets.send(new ListSecretsCommand({ Filters }))).SecretList ?? []).map(s => s.Name).sort();
    expect(await list([{ Key: 'name', Values: ['apps/'] }])).toEqual(['apps/orders/db', 'apps/payments/db']);
    expect(await list([{ Key: 'tag-key', Values: ['golden-path/app'] }])).toEqual(['apps/orders/db', 'apps/payments/db']);
    expect(await list([{ Key: 'tag-value', Values: ['orders'] }])).toEqual(['apps/orders/db']);
    expect(await list([])).toEqual(['apps/orders/db', 'apps/payments/db', 'other']);

    // Scheduled deletion: unreadable, name still taken, restorable.
    const scheduled = await secrets.send(new DeleteSecretCommand({ SecretId: 'apps/orders/db', RecoveryWindowInDays: 7 }));
    expect(scheduled.DeletionDate!.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'apps/orders/db' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    await expect(secrets.send(new CreateSecretCommand({ Name: 'apps/orders/db', SecretString: 'z' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    expect((await secrets.send(new DescribeSecretCommand({ SecretId: 'apps/orders/db' }))).DeletedDate).toBeInstanceOf(Date);
    expect(await list([{ Key: 'name', Values: ['apps/'] }])).toEqual(['apps/payments/db']);
    await secrets.send(new RestoreSecretCommand({ SecretId: 'apps/orders/db' }));
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: 'apps/orders/db' }))).SecretString).toBe('x');

    // Forced deletion frees the name at once.
    await expect(
      secrets.send(new DeleteSecretCommand({ SecretId: 'other', ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await secrets.send(new DeleteSecretCommand({ SecretId: 'other', ForceDeleteWithoutRecovery: true }));
    await expect(secrets.send(new DescribeSecretCommand({ SecretId: 'other' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await secrets.send(new CreateSecretCommand({ Name: 'other', SecretString: 'again' }));

    // And everything survives a restart.
    await sandbox.close();
    await start();
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: 'apps/payments/db' }))).SecretString).toBe('{"password":"two"}');
    expect(sandbox.faults.log).toEqual(['aws secretsmanager.GetSecretValue']);
  });
});
