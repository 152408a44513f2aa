import { InputError } from '@backstage/errors';
import fc from 'fast-check';
import {
  CRD_FILES,
  crdValidator,
  exampleRequest,
  exampleSettings,
} from '@internal/plugin-golden-path-node/testUtils';
import { SERVICE_KEY } from '@internal/plugin-golden-path-common';
import { validName } from '../__testUtils__/arbitraries';
import { admitsResource } from '../__testUtils__/argocdProject';
import { validateCoreObject } from '../__testUtils__/kubernetesModels';
import { SecretWorld, externalSecretCanRead } from '../__testUtils__/secretAccess';
import { ServicePlan, planService } from '../plan/ServicePlan';
import { renderContext } from './context';
import {
  DATABASE_CA_MOUNT_PATH,
  databaseIdentifier,
  databaseUrl,
  planDatabase,
  renderDatabaseExternalSecret,
  withDatabase,
} from './database';
import { oidcProviderArn } from './iam';
import { resolveServiceRequest } from './input';
import { renderDeployment } from './kubernetes';
import { fromYaml } from './yaml';
import { PlatformSettings } from './types';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n';
const settings: PlatformSettings = {
  ...exampleSettings,
  database: {
    host: 'db.example.com',
    port: 5432,
    sslMode: 'verify-full',
    caCertificate: CA,
    namePrefix: 'svc_',
    networkCidrs: ['10.0.32.0/24', '10.0.33.0/24'],
  },
};
const withDb = { ...exampleRequest, name: 'orders-api', database: true };

const plan = (s: PlatformSettings, name: string, database = true): ServicePlan =>
  planService(
    s,
    { ...exampleRequest, name, database },
    { marker: `m-${name}`, now: new Date('2026-01-01T00:00:00Z') },
  );
const gitopsFile = (p: ServicePlan, file: string) =>
  p.gitops.files.find(f => f.path === `manifests/${file}`);

describe('the request', () => {
  it.each(['yes', 1, 'true'])('refuses database = %p, naming the field', value => {
    expect(() =>
      resolveServiceRequest(settings, { ...exampleRequest, database: value }),
    ).toThrow(/^database must be true or false/);
  });

  it('refuses a database on a platform without a database server, saying so', () => {
    expect(() =>
      resolveServiceRequest(exampleSettings, { ...exampleRequest, database: true }),
    ).toThrow(
      new InputError(
        'database: the platform has no database server configured (goldenPath.database); ask the platform team, or create the service without a database',
      ),
    );
  });

  it.each([false, undefined, null])(
    'leaves the request as it was without a database (%p)',
    value => {
      const resolved = resolveServiceRequest(exampleSettings, { ...exampleRequest, database: value });
      expect(resolved).not.toHaveProperty('database');
    },
  );

  it('records database: true when asked', () => {
    expect(resolveServiceRequest(settings, withDb).database).toBe(true);
  });
});

describe('database and role names', () => {
  it('are the prefix and the name with "-" as "_": one-to-one, a PostgreSQL identifier of at most 63 bytes (property)', () => {
    fc.assert(
      fc.property(validName, validName, (a, b) => {
        const ia = databaseIdentifier(settings.database!, a);
        expect(ia).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(Buffer.byteLength(ia)).toBeLessThanOrEqual(63);
        expect(ia === databaseIdentifier(settings.database!, b)).toBe(a === b);
      }),
      { numRuns: 500 },
    );
  });

  it('fits the longest prefix the config allows with the longest name', () => {
    const longest = { ...settings.database!, namePrefix: 'p'.repeat(23) };
    expect(databaseIdentifier(longest, 'a'.repeat(40))).toHaveLength(63);
  });
});

describe('the plan', () => {
  const p = plan(settings, 'orders-api');

  it('names the role, the database and the secret path, and no password', () => {
    expect(p.database).toEqual({
      role: 'svc_orders_api',
      name: 'svc_orders_api',
      host: 'db.example.com',
      port: 5432,
      sslMode: 'verify-full',
      secretPath: 'idp/orders-api/database',
      secretStore: 'aws',
      displayUrl:
        'postgresql://svc_orders_api:<password>@db.example.com:5432/svc_orders_api?sslmode=verify-full&sslrootcert=/etc/golden-path/database/ca.crt',
    });
    expect(p.resources).toEqual(
      expect.arrayContaining([
        { system: 'PostgreSQL', kind: 'login role', name: 'svc_orders_api' },
        { system: 'PostgreSQL', kind: 'database', name: 'svc_orders_api' },
        { system: 'AWS', kind: 'Secrets Manager secret (database password)', name: 'idp/orders-api/database' },
      ]),
    );
  });

  it('has no database section, resource or file without the option', () => {
    const none = plan(settings, 'orders-api', false);
    expect(none.database).toBeUndefined();
    expect(none.resources.map(r => r.system)).not.toContain('PostgreSQL');
    expect(none.gitops.files.map(f => f.path).filter(f => /database/.test(f))).toEqual([]);
    expect(none.namespaceBundle.map(o => o.metadata.name)).not.toContain('orders-api-allow-database-egress');
  });
});

describe('DATABASE_URL', () => {
  it('requires TLS with the certificate verified against the mounted CA', () => {
    const url = new URL(databaseUrl(settings.database!, 'svc_x', 'Pw0123456789abcdefABCDEF'));
    expect(url.protocol).toBe('postgresql:');
    expect([url.username, url.password, url.hostname, url.port, url.pathname]).toEqual([
      'svc_x',
      'Pw0123456789abcdefABCDEF',
      'db.example.com',
      '5432',
      '/svc_x',
    ]);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      sslmode: 'verify-full',
      sslrootcert: `${DATABASE_CA_MOUNT_PATH}/ca.crt`,
    });
  });

  it('names no CA file when the server certificate is from a public CA', () => {
    const url = new URL(
      databaseUrl({ ...settings.database!, caCertificate: undefined }, 'svc_x', 'pw'),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({ sslmode: 'verify-full' });
  });
});

describe('the ExternalSecret', () => {
  const p = plan(settings, 'orders-api');
  const es = fromYaml(gitopsFile(p, 'externalsecret-database.yaml')!.content) as any;

  it('is valid against the External Secrets Operator CRD (strict)', () => {
    expect(crdValidator(CRD_FILES.externalSecret, 'v1').validate(es)).toEqual([]);
  });

  it("reads the password from the service's own folder through its own SecretStore", () => {
    expect(es.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'orders-api' });
    expect(es.spec.data).toEqual([
      { secretKey: 'password', remoteRef: { key: 'idp/orders-api/database', property: 'password' } },
    ]);
  });

  it('writes DATABASE_URL, and only it, into Secret orders-api-database', () => {
    expect(es.metadata).toMatchObject({ name: 'orders-api-database', namespace: 'orders-api' });
    expect(es.spec.target).toEqual({
      name: 'orders-api-database',
      creationPolicy: 'Owner',
      template: {
        engineVersion: 'v2',
        data: {
          DATABASE_URL:
            'postgresql://svc_orders_api:{{ .password }}@db.example.com:5432/svc_orders_api?sslmode=verify-full&sslrootcert=/etc/golden-path/database/ca.crt',
        },
      },
    });
  });

  it('fails the strict check on a typo (the check can fail)', () => {
    const typo = { ...es, spec: { ...es.spec, data: [{ secretKey: 'password', remoteref: {} }] } };
    expect(crdValidator(CRD_FILES.externalSecret, 'v1').validate(typo)).not.toEqual([]);
  });

  it('is rendered only for a request with a database', () => {
    expect(() =>
      renderDatabaseExternalSecret(renderContext(settings, { ...withDb, database: false })),
    ).toThrow();
  });
});

describe("one service's database secret is out of another's reach", () => {
  const a = plan(settings, 'orders-api');
  const b = plan(settings, 'billing');
  const issuer = settings.clusterOidcProvider!;
  const world: SecretWorld = {
    objects: [a, b].flatMap(p => p.namespaceBundle),
    awsAccountId: settings.awsAccountId,
    awsRegion: settings.awsRegion,
    clusterOidc: { issuer, providerArn: oidcProviderArn(settings, issuer) },
    iamRoles: Object.fromEntries(
      [a, b].map(p => [
        `arn:aws:iam::${settings.awsAccountId}:role/${p.iam.secrets!.roleName}`,
        {
          trustPolicy: p.iam.secrets!.trustPolicy,
          policies: [p.iam.secrets!.policyDocument],
          boundary: p.iam.boundary.document,
          tags: { [SERVICE_KEY]: p.request.name },
        },
      ]),
    ),
  };
  const es = fromYaml(gitopsFile(a, 'externalsecret-database.yaml')!.content) as any;
  const pointedAt = (key: string) => ({
    ...es,
    spec: { ...es.spec, data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }] },
  });

  it('reads its own password', async () => {
    expect(await externalSecretCanRead(world, es)).toBe('allowed');
  });

  it("cannot read another service's database password, even if the team edits its ExternalSecret", async () => {
    expect(await externalSecretCanRead(world, pointedAt(b.database!.secretPath))).toBe('denied by IAM');
  });
});

describe('the Deployment', () => {
  const ctx = renderContext(settings, withDb);
  const plain = renderDeployment(ctx, { imageTag: 'v1' });
  const deployment = withDatabase(ctx, plain);
  const container = deployment.spec!.template.spec!.containers[0];

  it('takes DATABASE_URL from Secret orders-api-database (and keeps its other env)', () => {
    expect(container.envFrom).toEqual([
      ...(plain.spec!.template.spec!.containers[0].envFrom ?? []),
      { secretRef: { name: 'orders-api-database' } },
    ]);
  });

  it('mounts the CA read-only where sslrootcert points', () => {
    expect(container.volumeMounts).toContainEqual({
      name: 'database-ca',
      mountPath: DATABASE_CA_MOUNT_PATH,
      readOnly: true,
    });
    expect(deployment.spec!.template.spec!.volumes).toContainEqual({
      name: 'database-ca',
      configMap: { name: 'orders-api-database-ca' },
    });
  });

  it('is still a valid apps/v1 Deployment', () => {
    expect(validateCoreObject(deployment)).toEqual([]);
  });

  it('is unchanged without a database', () => {
    const none = renderContext(settings, { ...withDb, database: false });
    const d = renderDeployment(none, { imageTag: 'v1' });
    expect(withDatabase(none, d)).toBe(d);
  });

  it('mounts nothing when the server certificate is from a public CA', () => {
    const pub = renderContext(
      { ...settings, database: { ...settings.database!, caCertificate: undefined } },
      withDb,
    );
    const d = withDatabase(pub, renderDeployment(pub, { imageTag: 'v1' }));
    expect(d.spec!.template.spec!.volumes!.map(v => v.name)).not.toContain('database-ca');
    const p = plan({ ...settings, database: { ...settings.database!, caCertificate: undefined } }, 'orders-api');
    expect(gitopsFile(p, 'configmap-database-ca.yaml')).toBeUndefined();
  });
});

describe('GitOps files and namespace bundle', () => {
  const p = plan(settings, 'orders-api');

  it('adds the ExternalSecret and the CA ConfigMap, in the secrets wave before the Deployment', () => {
    const paths = p.gitops.files.map(f => f.path);
    const at = (f: string) => paths.indexOf(`manifests/${f}`);
    expect(at('externalsecret-database.yaml')).toBeGreaterThan(-1);
    expect(at('configmap-database-ca.yaml')).toBeGreaterThan(-1);
    expect(at('externalsecret-database.yaml')).toBeLessThan(at('deployment.yaml'));
    const cm = fromYaml(gitopsFile(p, 'configmap-database-ca.yaml')!.content) as any;
    expect(validateCoreObject(cm)).toEqual([]);
    expect(cm.data).toEqual({ 'ca.crt': CA });
    expect(cm.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('2');
  });

  it("is admitted by the service's AppProject (ArgoCD would sync every database file)", () => {
    const spec = (p.argocd.project as any).spec;
    for (const f of p.gitops.files.filter(x => /database/.test(x.path))) {
      const o = fromYaml(f.content) as any;
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      expect([
        f.path,
        admitsResource(spec, {
          group,
          kind: o.kind,
          namespaced: true,
          name: o.metadata.name,
          server: settings.clusterServer,
        }),
      ]).toEqual([f.path, true]);
    }
  });

  it('puts the Deployment that reads the Secret into the GitOps repository', () => {
    const d = fromYaml(gitopsFile(p, 'deployment.yaml')!.content) as any;
    expect(d.spec.template.spec.containers[0].envFrom).toContainEqual({
      secretRef: { name: 'orders-api-database' },
    });
  });

  it('lets the app pods reach the database port on the database subnets only', () => {
    const policy = p.namespaceBundle.find(o => o.metadata.name === 'orders-api-allow-database-egress') as any;
    expect(validateCoreObject(policy)).toEqual([]);
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: expect.any(Object) },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ipBlock: { cidr: '10.0.32.0/24' } }, { ipBlock: { cidr: '10.0.33.0/24' } }],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
      ],
    });
  });

  it.each([
    ['127.0.0.1', ['127.0.0.1/32']],
    ['db.internal', ['0.0.0.0/0']],
  ])('without networkCidrs, host %s allows %j on the port only', (host, expected) => {
    const s = { ...settings, database: { ...settings.database!, host, networkCidrs: undefined } };
    const policy = plan(s, 'orders-api').namespaceBundle.find(
      o => o.metadata.name === 'orders-api-allow-database-egress',
    ) as any;
    expect(policy.spec.egress[0].to.map((t: any) => t.ipBlock.cidr)).toEqual(expected);
    expect(policy.spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 5432 }]);
  });

  it('plans nothing for the database on a platform without one when not asked', () => {
    expect(planDatabase(renderContext(exampleSettings, exampleRequest))).toBeUndefined();
  });
});
