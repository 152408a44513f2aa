import { ConfigReader } from '@backstage/config';
import { formatProblems } from './problems';
import { modeOf, validate } from './validate';

/** A production config with every required value present. */
function completeProduction(): Record<string, any> {
  return {
    app: { baseUrl: 'https://portal.example.com' },
    backend: {
      baseUrl: 'https://portal.example.com',
      auth: {
        externalAccess: [
          {
            type: 'legacy',
            options: { secret: 'a'.repeat(32), subject: 'ci' },
            accessRestrictions: [{ plugin: 'catalog' }],
          },
        ],
      },
      database: {
        client: 'pg',
        connection: {
          host: 'db.example.com',
          user: 'backstage',
          password: 'secret',
          ssl: { require: true, rejectUnauthorized: true },
        },
      },
    },
    integrations: {
      gitlab: [{ host: 'gitlab.example.com', token: 'glpat-x' }],
    },
    catalog: {
      providers: {
        githubOrg: {
          id: 'production',
          githubUrl: 'https://github.com',
          orgs: ['example'],
          schedule: { frequency: { hours: 1 }, timeout: { minutes: 15 } },
        },
      },
    },
    auth: {
      environment: 'production',
      providers: {
        github: { production: { clientId: 'id', clientSecret: 's' } },
      },
    },
    goldenPath: {
      signIn: 'github',
      permissions: {
        roles: {
          platformAdmins: ['group:default/platform-admins'],
          developers: 'all-group-members',
        },
      },
      gitlab: {
        host: 'gitlab.example.com',
        appGroup: 'apps',
        gitopsGroup: 'platform/gitops',
      },
      aws: {
        accountId: '123456789012',
        region: 'eu-west-1',
        ecrRegistry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      },
      argocd: {
        url: 'https://argocd.example.com',
        token: 't',
        webhook: { secret: 'argocd-webhook-secret' },
      },
      kubernetes: {
        url: 'https://k8s.example.com',
        token: 't',
        oidcProvider: 'oidc.eks.eu-west-1.amazonaws.com/id/ABC',
      },
      baseDomain: 'apps.example.com',
      ingress: {
        certificateArn:
          'arn:aws:acm:eu-west-1:123456789012:certificate/0f0e-12ab',
        albGroupName: 'shared',
        loadBalancerSourceCidrs: ['10.0.0.0/24', '10.0.1.0/24'],
      },
      network: { vpcCidr: '10.0.0.0/16' },
    },
  };
}

/** `data` with a PostgreSQL server for services, as production would configure it. */
function withServiceDatabase(data: Record<string, any>) {
  return withKey(withKey(data, 'goldenPath.database', {
    host: 'services-db.abc123.eu-west-1.rds.amazonaws.com',
    port: 5432,
    sslMode: 'verify-full',
    caCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    networkCidrs: ['10.0.32.0/24', '10.0.33.0/24'],
    admin: { user: 'idp_admin', password: 'admin-secret' },
  }), 'goldenPath.grafana', { baseUrl: 'https://grafana.example.com' });
}

/** Sets (or, with undefined, deletes) a dotted key in a deep copy. */
function withKey(data: Record<string, any>, key: string, value: unknown) {
  const copy = JSON.parse(JSON.stringify(data));
  const parts = key.split('.');
  let node = copy;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part];
  }
  if (value === undefined) delete node[parts.at(-1)!];
  else node[parts.at(-1)!] = value;
  return copy;
}

const production = (
  data: Record<string, any>,
  env: Record<string, string> = {},
) =>
  validate(new ConfigReader(data), {
    mode: 'production',
    env,
    checkReadable: path => (path === '/readable.pem' ? undefined : 'ENOENT'),
  });

describe('validate: network and secrets', () => {
  const problemsWith = (path: string, value: unknown) =>
    production(withKey(completeProduction(), path, value));

  it.each<[string, string, unknown, string]>([
    ['the ALB subnets', 'goldenPath.ingress.loadBalancerSourceCidrs', ['10.0.0.0/24', '10.0.16.0/20'], ''],
    ['them as one comma-separated variable', 'goldenPath.ingress.loadBalancerSourceCidrs', '10.0.0.0/24, 10.0.1.0/24', ''],
    ['the whole VPC', 'goldenPath.ingress.loadBalancerSourceCidrs', ['10.0.0.0/16'], 'covers the whole VPC'],
    ['a range around the VPC', 'goldenPath.ingress.loadBalancerSourceCidrs', ['10.0.0.0/8'], 'covers the whole VPC'],
    ['a range wider than /20', 'goldenPath.ingress.loadBalancerSourceCidrs', ['172.16.0.0/19'], 'wider than /20'],
    ['an egress allowlist reopening everything', 'goldenPath.network.egressAllowedCidrs', ['0.0.0.0/0'], 'reopens HTTPS egress'],
    ['an egress allowlist of one API', 'goldenPath.network.egressAllowedCidrs', ['10.20.0.0/24'], ''],
    ['the vault provider without its server', 'goldenPath.secrets', { provider: 'vault' }, "needs Vault's URL"],
    ['the vault provider with its server', 'goldenPath.secrets', { provider: 'vault', vault: { server: 'https://vault.example.com' } }, ''],
    ['the aws provider without the cluster OIDC provider', 'goldenPath.kubernetes.oidcProvider', undefined, 'EKS IRSA'],
    ['no VPC CIDR', 'goldenPath.network', undefined, "the VPC's CIDR"],
  ])('%s', (_what, path, value, message) => {
    const text = problemsWith(path, value).map(p => `${p.key} ${p.message}`).join('\n');
    // An empty message: no problem at all.
    expect(text || 'no problem').toContain(message || 'no problem');
  });

  it('names the variable that sets the load-balancer subnets', () => {
    expect(
      problemsWith('goldenPath.ingress.loadBalancerSourceCidrs', ['10.0.0.0/16']),
    ).toContainEqual(
      expect.objectContaining({
        key: 'goldenPath.ingress.loadBalancerSourceCidrs',
        envVar: 'ALB_SUBNET_CIDRS',
      }),
    );
  });

  it('applies the network rules to a local portal too', () => {
    const local = withKey(
      withKey(completeProduction(), 'goldenPath.local', true),
      'goldenPath.ingress.loadBalancerSourceCidrs',
      ['10.0.0.0/16'],
    );
    expect(
      validate(new ConfigReader(local), { mode: 'local' }).map(p => p.key),
    ).toContain('goldenPath.ingress.loadBalancerSourceCidrs');
  });
});

describe('validate', () => {
  it('accepts a complete production config', () => {
    expect(production(completeProduction())).toEqual([]);
  });

  it('accepts production without a static external-access secret', () => {
    expect(
      production(withKey(completeProduction(), 'backend.auth.externalAccess', undefined)),
    ).toEqual([]);
  });

  it('accepts OIDC (e.g. Keycloak) as the production sign-in, with its keys', () => {
    const oidc = withKey(
      withKey(completeProduction(), 'goldenPath.signIn', 'oidc'),
      'auth.providers',
      {
        oidc: {
          production: {
            metadataUrl: 'https://keycloak.example.com/realms/x/.well-known/openid-configuration',
            clientId: 'portal',
            clientSecret: 's',
          },
        },
      },
    );
    expect(production(oidc)).toEqual([]);
  });

  it.each([
    ['metadataUrl', 'AUTH_OIDC_METADATA_URL'],
    ['clientId', 'AUTH_OIDC_CLIENT_ID'],
    ['clientSecret', 'AUTH_OIDC_CLIENT_SECRET'],
  ])('reports the missing OIDC key %s with its variable %s', (key, envVar) => {
    const oidc = withKey(
      withKey(completeProduction(), 'goldenPath.signIn', 'oidc'),
      'auth.providers',
      {
        oidc: {
          production: Object.fromEntries(
            ['metadataUrl', 'clientId', 'clientSecret']
              .filter(k => k !== key)
              .map(k => [k, 'x']),
          ),
        },
      },
    );
    expect(production(oidc)).toEqual([
      expect.objectContaining({ key: `auth.providers.oidc.production.${key}`, envVar }),
    ]);
  });

  it('accepts a production config with a PostgreSQL server for services', () => {
    expect(production(withServiceDatabase(completeProduction()))).toEqual([]);
  });

  it.each([
    ['backend.database.pluginDivisionMode', 'schema'],
    ['backend.database.pluginDivisionMode', 'database'],
  ])('accepts %s = %j in production', (key, value) => {
    expect(production(withKey(completeProduction(), key, value))).toEqual([]);
  });

  it.each([
    [
      'backend.database.pluginDivisionMode',
      'plugin',
      'backend.database.pluginDivisionMode',
      /use "database" \(one database per plugin, the user needs CREATEDB\) or "schema"/,
    ],
    [
      'goldenPath.database.sslMode',
      'require',
      'goldenPath.database.sslMode',
      /services must verify the database server's certificate and name \(verify-full\)/,
    ],
    [
      'goldenPath.database.sslMode',
      'verify-ca',
      'goldenPath.database.sslMode',
      /verify-full/,
    ],
    [
      'goldenPath.database.admin.password',
      undefined,
      'goldenPath.database.admin.password',
      /is missing: the password of the platform's database admin login/,
    ],
    [
      'goldenPath.database.networkCidrs',
      undefined,
      'goldenPath.database.networkCidrs',
      /opens the database port to every address/,
    ],
    [
      'goldenPath.database.host',
      '127.0.0.1',
      'goldenPath.database.host',
      /points at localhost/,
    ],
  ])('rejects the database setting %s = %j in production', (key, value, problemKey, message) => {
    expect(production(withKey(withServiceDatabase(completeProduction()), key, value))).toEqual([
      expect.objectContaining({ key: problemKey, message: expect.stringMatching(message) }),
    ]);
  });

  it.each([
    ['goldenPath.database.namePrefix', 'pg_svc_', /must not start with "pg_"/],
    ['goldenPath.database.namePrefix', 'a'.repeat(24), /1-23 characters/],
    ['goldenPath.database.sslMode', 'disable', /verify-full/],
    ['goldenPath.database.admin.usr', 'x', /not a known key/],
    ['goldenPath.grafana.baseUrl', 'grafana.example.com', /http\(s\) URL/],
  ])('rejects the shape of %s = %j in every mode', (key, value, message) => {
    const data = withKey(withServiceDatabase(completeProduction()), key, value);
    for (const mode of ['local', 'production'] as const) {
      expect(
        validate(new ConfigReader(data), { mode, env: {}, checkReadable: () => undefined }),
      ).toContainEqual(
        expect.objectContaining({
          key: expect.stringMatching(/^goldenPath\.(database|grafana)/),
          message: expect.stringMatching(message),
        }),
      );
    }
  });

  it('accepts the local defaults (guest, SQLite, no secrets)', () => {
    const local = {
      auth: { providers: { guest: {} } },
      backend: { database: { client: 'better-sqlite3' } },
      goldenPath: {
        local: true,
        permissions: {
          roles: {
            platformAdmins: ['group:default/platform-admins'],
            developers: 'all-group-members',
          },
        },
      },
    };
    expect(validate(new ConfigReader(local), { mode: 'local' })).toEqual([]);
  });

  it('needs no webhook secret when the webhook is off (ArgoCD polls)', () => {
    const config = withKey(completeProduction(), 'goldenPath.argocd.webhook', false);
    expect(production(config)).toEqual([]);
  });

  it.each([
    ['auth.providers.github.production.clientId', 'AUTH_GITHUB_CLIENT_ID'],
    [
      'auth.providers.github.production.clientSecret',
      'AUTH_GITHUB_CLIENT_SECRET',
    ],
    ['backend.database.connection.host', 'POSTGRES_HOST'],
    ['backend.database.connection.password', 'POSTGRES_PASSWORD'],
    ['goldenPath.gitlab.appGroup', 'GITLAB_APP_GROUP'],
    ['goldenPath.gitlab.gitopsGroup', 'GITLAB_GITOPS_GROUP'],
    ['goldenPath.argocd.url', 'ARGOCD_URL'],
    ['goldenPath.argocd.token', 'ARGOCD_TOKEN'],
    ['goldenPath.argocd.webhook.secret', 'ARGOCD_WEBHOOK_SECRET'],
    ['goldenPath.aws.accountId', 'AWS_ACCOUNT_ID'],
    ['goldenPath.aws.region', 'AWS_REGION'],
    ['goldenPath.aws.ecrRegistry', 'ECR_REGISTRY'],
    ['goldenPath.baseDomain', 'BASE_DOMAIN'],
    ['goldenPath.ingress.certificateArn', 'ACM_CERTIFICATE_ARN'],
  ])('reports missing %s with its variable %s', (key, envVar) => {
    expect(production(withKey(completeProduction(), key, undefined))).toEqual([
      expect.objectContaining({
        key,
        envVar,
        message: expect.stringMatching(/^is missing/),
      }),
    ]);
  });

  it.each([
    [
      'auth.providers.guest',
      {},
      'auth.providers.guest',
      /must not be enabled in production \(local sign-in\)/,
    ],
    [
      'auth.providers.localUsers',
      { users: ['user:default/ada'] },
      'auth.providers.localUsers',
      /must not be enabled in production \(local sign-in\)/,
    ],
    ['goldenPath.local', true, 'goldenPath.local', /marks a local portal/],
    [
      'catalog.providers.githubOrg',
      undefined,
      'catalog.providers.githubOrg',
      /users and teams come from the GitHub organisation/,
    ],
    [
      'backend.database.client',
      'better-sqlite3',
      'backend.database.client',
      /production uses PostgreSQL/,
    ],
    [
      'backend.database.connection.ssl.require',
      false,
      'backend.database.connection.ssl.require',
      /RDS requires TLS/,
    ],
    [
      'backend.database.connection.ssl.rejectUnauthorized',
      false,
      'backend.database.connection.ssl.rejectUnauthorized',
      /verified/,
    ],
    [
      'backend.auth.externalAccess',
      [
        {
          type: 'legacy',
          options: { secret: 'short', subject: 'x' },
          accessRestrictions: [{ plugin: 'catalog' }],
        },
      ],
      'backend.auth.externalAccess[0].options.secret',
      /shorter than 24/,
    ],
    [
      'backend.auth.externalAccess',
      [{ type: 'legacy', options: { secret: 'b'.repeat(32), subject: 'x' } }],
      'backend.auth.externalAccess[0].accessRestrictions',
      /restrict the static secret to the plugins it needs/,
    ],
    [
      'integrations.gitlab',
      [],
      'integrations.gitlab',
      /needs an entry for host "gitlab.example.com"/,
    ],
    [
      'goldenPath.aws.ecrRegistry',
      '999999999999.dkr.ecr.eu-west-1.amazonaws.com',
      'goldenPath.aws.ecrRegistry',
      /has registry 123456789012/,
    ],
    [
      'app.baseUrl',
      'http://localhost:3000',
      'app.baseUrl',
      /points at localhost/,
    ],
    [
      'goldenPath.signIn',
      'guest',
      'goldenPath.signIn',
      /production signs in with "github" or "oidc"/,
    ],
    [
      'goldenPath.aws.endpoint',
      'http://localhost:7082',
      'goldenPath.aws.endpoint',
      /sandbox override/,
    ],
    [
      'goldenPath.kubernetes.skipTLSVerify',
      true,
      'goldenPath.kubernetes.skipTLSVerify',
      /must not be true/,
    ],
    [
      'goldenPath.argocd.url',
      'http://argocd.example.com',
      'goldenPath.argocd.url',
      /unencrypted/,
    ],
    [
      'backend.auth.dangerouslyDisableDefaultAuthPolicy',
      true,
      'backend.auth.dangerouslyDisableDefaultAuthPolicy',
      /open without sign-in/,
    ],
  ])('rejects %s = %j in production', (key, value, problemKey, message) => {
    expect(production(withKey(completeProduction(), key, value))).toEqual([
      expect.objectContaining({
        key: problemKey,
        message: expect.stringMatching(message),
      }),
    ]);
  });

  it.each([
    [
      'goldenPath.gitlab.apGroup',
      'apps',
      'goldenPath.gitlab.apGroup',
      /not a known key/,
    ],
    ['goldenPath.replicas', 2, 'goldenPath.replicas', /not a known key/],
    [
      'goldenPath.aws.accountId',
      123456789012,
      'goldenPath.aws.accountId',
      /string/,
    ],
    ['goldenPath.aws.region', 'Ireland', 'goldenPath.aws.region', /AWS region/],
    [
      'goldenPath.ingress.certificateArn',
      'not-an-arn',
      'goldenPath.ingress.certificateArn',
      /ACM certificate ARN/,
    ],
    [
      'goldenPath.gitlab.host',
      'https://gitlab.example.com',
      'goldenPath.gitlab.host',
      /without scheme/,
    ],
  ])('rejects %s = %j in every mode', (key, value, problemKey, message) => {
    const data = withKey(completeProduction(), key, value);
    for (const mode of ['local', 'production'] as const) {
      expect(validate(new ConfigReader(data), { mode })).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            key: problemKey,
            message: expect.stringMatching(message),
          }),
        ]),
      );
    }
  });

  it('reports an unreadable CA file with its variable', () => {
    expect(
      production(completeProduction(), { POSTGRES_CA_FILE: '/missing.pem' }),
    ).toEqual([
      {
        key: 'backend.database.connection.ssl.ca',
        envVar: 'POSTGRES_CA_FILE',
        message: expect.stringContaining(
          'CA file "/missing.pem" cannot be read (ENOENT)',
        ),
      },
    ]);
    expect(
      production(completeProduction(), { POSTGRES_CA_FILE: '/readable.pem' }),
    ).toEqual([]);
  });

  it('lists every problem of an empty production config at once', () => {
    const problems = production({ auth: { environment: 'production' } });
    const keys = problems.map(p => p.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'auth.providers.github.production.clientId',
        'backend.database.client',
        'backend.database.connection.host',
        'goldenPath.gitlab.appGroup',
        'goldenPath.argocd.token',
        'goldenPath.aws.ecrRegistry',
        'goldenPath.baseDomain',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(20);
    expect(formatProblems(problems).split('\n')).toHaveLength(
      problems.length + 1,
    );
  });
});

describe('modeOf', () => {
  it.each([
    // Fails closed: only an explicit local switch gives the local rules.
    [{}, {}, 'production'],
    [{ auth: { environment: 'development' } }, { NODE_ENV: 'development' }, 'production'],
    [{ goldenPath: { local: true } }, {}, 'local'],
    [{ goldenPath: { local: true } }, { NODE_ENV: 'development' }, 'local'],
    [{ goldenPath: { local: true } }, { NODE_ENV: 'production' }, 'production'],
    [{ goldenPath: { local: true }, auth: { environment: 'production' } }, {}, 'production'],
    [{ goldenPath: { local: 'yes' } }, {}, 'production'],
  ])('config %j with env %j is %s', (data, env, mode) => {
    expect(modeOf(new ConfigReader(data), env)).toBe(mode);
  });
});
