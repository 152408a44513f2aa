import fc from 'fast-check';
import {
  CRD_FILES,
  crdValidator,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import { SERVICE_KEY } from '@internal/plugin-golden-path-common';
import { usableName } from '../__testUtils__/arbitraries';
import {
  SecretWorld,
  externalSecretCanRead,
  parseVaultPolicy,
  vaultAllows,
} from '../__testUtils__/secretAccess';
import { ServicePlan, planService } from '../plan/ServicePlan';
import { fromYaml } from './yaml';
import { oidcProviderArn } from './iam';
import { renderVaultAccess, secretStoreKey } from './secrets';
import { PlatformSettings } from './types';

const awsSettings: PlatformSettings = exampleSettings;
const vaultSettings: PlatformSettings = {
  ...exampleSettings,
  secrets: {
    provider: 'vault',
    prefix: 'idp',
    vault: {
      server: 'https://vault.example.com',
      kvMount: 'secret',
      authMount: 'kubernetes',
    },
  },
};

const plan = (settings: PlatformSettings, name: string) =>
  planService(
    settings,
    { ...exampleRequest, name },
    { marker: `m-${name}`, now: new Date('2026-01-01T00:00:00Z') },
  );

function externalSecretOf(p: ServicePlan): any {
  const file = p.gitops.files.find(f => f.path === 'manifests/externalsecret.yaml')!;
  return fromYaml(file.content);
}

/** The cluster and the cloud after Create made every service in `plans`. */
function worldOf(settings: PlatformSettings, plans: ServicePlan[]): SecretWorld {
  const issuer = settings.clusterOidcProvider!;
  return {
    objects: plans.flatMap(p => p.namespaceBundle),
    awsAccountId: settings.awsAccountId,
    awsRegion: settings.awsRegion,
    clusterOidc: { issuer, providerArn: oidcProviderArn(settings, issuer) },
    iamRoles: Object.fromEntries(
      plans
        .filter(p => p.iam.secrets)
        .map(p => [
          `arn:aws:iam::${settings.awsAccountId}:role/${p.iam.secrets!.roleName}`,
          {
            trustPolicy: p.iam.secrets!.trustPolicy,
            policies: [p.iam.secrets!.policyDocument],
            boundary: p.iam.boundary.document,
            tags: { [SERVICE_KEY]: p.request.name },
          },
        ]),
    ),
    vault: {
      roles: Object.fromEntries(
        plans
          .filter(p => p.vault)
          .map(p => [`${p.vault!.role.mount}/${p.vault!.role.name}`, p.vault!.role]),
      ),
      policies: Object.fromEntries(
        plans.filter(p => p.vault).map(p => [p.vault!.policyName, p.vault!.policy]),
      ),
    },
  };
}

/** The team edits its own ExternalSecret (it may: the kind is whitelisted). */
const withKey = (es: any, key: string) => ({
  ...es,
  spec: { ...es.spec, dataFrom: [{ extract: { key } }] },
});
const withStore = (es: any, ref: object) => ({
  ...es,
  spec: { ...es.spec, secretStoreRef: ref },
});

describe.each([
  ['aws (Secrets Manager, IRSA role)', awsSettings, 'denied by IAM'],
  ['vault (KV v2, Kubernetes auth role)', vaultSettings, 'denied by Vault'],
] as const)('secrets with the %s store', (_what, settings, denied) => {
  const a = plan(settings, 'payments-api');
  const b = plan(settings, 'payments');
  const c = plan(settings, 'payments-api-admin');
  const world = worldOf(settings, [a, b, c]);
  const es = externalSecretOf(a);

  it("lets a service's ExternalSecret read its own key", async () => {
    expect(await externalSecretCanRead(world, es)).toBe('allowed');
  });

  it.each([
    ['another service', () => secretStoreKey(settings, 'payments')],
    ['a service whose name starts with its own', () => secretStoreKey(settings, 'payments-api-admin')],
    ['the prefix itself', () => `${settings.secrets.prefix}/app`],
    ['outside the prefix', () => 'prod/database/master'],
  ])('refuses %s', async (_case, keyOf) => {
    expect(await externalSecretCanRead(world, withKey(es, keyOf()))).toBe(denied);
  });

  it('refuses the SecretStore of another namespace', async () => {
    expect(
      await externalSecretCanRead(
        world,
        withStore(es, { kind: 'SecretStore', name: 'payments' }),
      ),
    ).toBe('store not found');
  });

  it('leaves the schema no say: the edited ExternalSecret is still valid', () => {
    const validator = crdValidator(CRD_FILES.externalSecret, 'v1');
    expect(validator.validate(es)).toEqual([]);
    expect(
      validator.validate(withKey(es, secretStoreKey(settings, 'payments'))),
    ).toEqual([]);
  });

  it("validates the service's SecretStore against the ESO CRD", () => {
    const store = a.namespaceBundle.find(o => o.kind === 'SecretStore')!;
    expect(crdValidator(CRD_FILES.secretStore, 'v1').validate(store)).toEqual([]);
  });

  it('holds for any two services', async () => {
    await fc.assert(
      fc.asyncProperty(
        usableName(settings),
        usableName(settings),
        async (mine, theirs) => {
          fc.pre(mine !== theirs);
          const pm = plan(settings, mine);
          const pt = plan(settings, theirs);
          const w = worldOf(settings, [pm, pt]);
          const own = externalSecretOf(pm);
          expect(await externalSecretCanRead(w, own)).toBe('allowed');
          expect(
            await externalSecretCanRead(
              w,
              withKey(own, secretStoreKey(settings, theirs)),
            ),
          ).toBe(denied);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the evaluators can fail', () => {
  it('IAM: a secrets policy on the whole prefix would let A read B', async () => {
    const a = plan(awsSettings, 'payments-api');
    const b = plan(awsSettings, 'payments');
    const world = worldOf(awsSettings, [a, b]);
    const role = Object.values(world.iamRoles!)[0];
    role.policies = [
      {
        ...a.iam.secrets!.policyDocument,
        Statement: [
          {
            ...a.iam.secrets!.policyDocument.Statement[0],
            Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:idp/*',
          },
        ],
      },
    ];
    // ...unless the boundary still holds it to its own folder.
    const es = withKey(externalSecretOf(a), secretStoreKey(awsSettings, 'payments'));
    expect(await externalSecretCanRead(world, es)).toBe('denied by IAM');
    delete role.boundary;
    expect(await externalSecretCanRead(world, es)).toBe('allowed');
  });

  it('IAM: a trust policy for any service account would be noticed', async () => {
    const a = plan(awsSettings, 'payments-api');
    const world = worldOf(awsSettings, [a]);
    const role = Object.values(world.iamRoles!)[0];
    const condition = role.trustPolicy.Statement[0].Condition.StringEquals;
    const sub = Object.keys(condition).find(k => k.endsWith(':sub'))!;
    condition[sub] = 'system:serviceaccount:payments-api:default';
    expect(await externalSecretCanRead(world, externalSecretOf(a))).toBe(
      'role does not trust the service account',
    );
  });

  it('Vault: a policy on the whole prefix would let A read B', () => {
    const wide = 'path "secret/data/idp/*" {\n  capabilities = ["read"]\n}\n';
    expect(vaultAllows([wide], 'secret/data/idp/payments/app')).toBe(true);
    const own = renderVaultAccess(vaultSettings, 'payments-api')!.policy;
    expect(vaultAllows([own], 'secret/data/idp/payments/app')).toBe(false);
    expect(vaultAllows([own], 'secret/data/idp/payments-api/app')).toBe(true);
  });
});

describe('Vault access of a service', () => {
  const access = renderVaultAccess(vaultSettings, 'payments-api')!;

  it('reads KV v2 data under its own folder only', () => {
    expect(parseVaultPolicy(access.policy)).toEqual([
      { path: 'secret/data/idp/payments-api/*', capabilities: ['read'] },
    ]);
  });

  it('binds the role to the secrets ServiceAccount of its namespace', () => {
    expect(access.role).toEqual({
      mount: 'kubernetes',
      name: 'idp-payments-api',
      bound_service_account_names: ['payments-api-secrets'],
      bound_service_account_namespaces: ['payments-api'],
      token_policies: ['idp-payments-api'],
      token_ttl: '1h',
      token_max_ttl: '1h',
    });
  });

  it('is undefined with the aws provider', () => {
    expect(renderVaultAccess(awsSettings, 'payments-api')).toBeUndefined();
  });
});
