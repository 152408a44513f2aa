import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import yaml from 'yaml';
import {
  BackendProcess,
  freePort,
  startBackend,
  waitForReady,
} from './__testUtils__/backendProcess';
import {
  ADMIN_CONNECTION,
  dropDatabases,
  ensurePostgresTls,
} from './__testUtils__/postgresTls';
import { startTlsOnlyPostgres } from './__testUtils__/tlsOnlyPostgres';

/**
 * The real backend, started as in production, against the machine's real
 * PostgreSQL: it refuses to start, with the fix and without a stack trace,
 * when its user lacks CREATEDB or when the server accepts only TLS and the
 * config has none; and it still starts when the user may create databases
 * without being a superuser.
 */
jest.setTimeout(240_000);

const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
const weakUser = `idp_portal_nocreatedb_${suffix}`;
const createdbUser = `idp_portal_createdb_${suffix}`;

async function admin(sql: string) {
  const client = new Client({ ...ADMIN_CONNECTION, database: 'postgres' });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Every variable app-config.production.yaml needs (as startup.test.ts sets them). */
function productionEnv(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    APP_BASE_URL: 'https://portal.example.test',
    BACKEND_BASE_URL: 'https://portal.example.test',
    POSTGRES_HOST: 'localhost',
    POSTGRES_PORT: '5432',
    POSTGRES_USER: 'postgres',
    POSTGRES_PASSWORD: 'unused-with-trust-auth',
    GITLAB_HOST: 'gitlab.example.test',
    GITLAB_TOKEN: 'test-gitlab-token',
    GITLAB_APP_GROUP: 'apps',
    GITLAB_GITOPS_GROUP: 'platform/gitops',
    AUTH_GITHUB_CLIENT_ID: 'test-client-id',
    AUTH_GITHUB_CLIENT_SECRET: 'test-client-secret',
    ARGOCD_URL: 'https://argocd.example.test',
    ARGOCD_TOKEN: 'test-argocd-token',
    ARGOCD_WEBHOOK_SECRET: 'test-argocd-webhook-secret',
    AWS_ACCOUNT_ID: '123456789012',
    AWS_REGION: 'eu-west-1',
    ECR_REGISTRY: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    K8S_API_URL: 'https://kubernetes.example.test',
    K8S_TOKEN: 'test-k8s-token',
    BASE_DOMAIN: 'apps.example.test',
    ACM_CERTIFICATE_ARN:
      'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000',
    ALB_GROUP_NAME: 'shared',
    ALB_SUBNET_CIDRS: '10.0.1.0/24',
    K8S_OIDC_PROVIDER: 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE',
    VPC_CIDR: '10.0.0.0/16',
  };
}

describe('the portal refuses a database it would crash-loop on', () => {
  let backend: BackendProcess | undefined;
  let caFile: string;

  beforeAll(async () => {
    caFile = await ensurePostgresTls();
    await admin(`CREATE ROLE "${weakUser}" LOGIN NOCREATEDB`);
    await admin(`CREATE ROLE "${createdbUser}" LOGIN CREATEDB`);
  });

  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
  });

  afterAll(async () => {
    await dropDatabases(`idp_${suffix}_`);
    await admin(`DROP ROLE IF EXISTS "${weakUser}"`);
    await admin(`DROP ROLE IF EXISTS "${createdbUser}"`);
  });

  it('refuses a production user without CREATEDB, naming ALTER ROLE … CREATEDB and schema mode', async () => {
    backend = startBackend(['app-config.production.yaml'], {
      ...productionEnv(),
      POSTGRES_USER: weakUser,
      POSTGRES_CA_FILE: caFile,
      APP_CONFIG_backend_database_prefix: `idp_${suffix}_`,
      APP_CONFIG_backend_listen: `127.0.0.1:${await freePort()}`,
    });
    expect(await backend.exited).toBe(1);
    const output = backend.output();
    expect(output).toContain('Configuration valid for production use');
    expect(output).toMatch(
      new RegExp(`Refusing to start: plugin "[\\w-]+" needs its database "idp_${suffix}_[\\w-]+", which does not exist, and PostgreSQL user "${weakUser}" at localhost:5432 may not create databases \\(no CREATEDB\\)\\.`),
    );
    expect(output).toContain(`ALTER ROLE "${weakUser}" CREATEDB;`);
    expect(output).toContain('backend.database.pluginDivisionMode: schema');
    expect(output).not.toContain('permission denied to create database');
    expect(output).not.toMatch(/^\s+at /m);
    // Nothing was created.
    expect(await admin(`SELECT datname FROM pg_database WHERE datname LIKE 'idp_${suffix}_%'`)).toEqual([]);
  });

  it('starts for a user with CREATEDB that is not a superuser (no false refusal)', async () => {
    const port = await freePort();
    backend = startBackend(['app-config.production.yaml'], {
      ...productionEnv(),
      POSTGRES_USER: createdbUser,
      POSTGRES_CA_FILE: caFile,
      APP_CONFIG_backend_database_prefix: `idp_${suffix}_`,
      APP_CONFIG_backend_listen: `127.0.0.1:${port}`,
    });
    const status = await waitForReady(
      `http://127.0.0.1:${port}/.backstage/health/v1/readiness`,
      backend,
      180_000,
    );
    expect([status, backend.output().match(/Refusing to start.*/)?.[0]]).toEqual([200, undefined]);
    const owned = await admin(
      `SELECT count(*)::int AS n FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname LIKE 'idp_${suffix}_%' AND r.rolname = '${createdbUser}'`,
    );
    expect(owned[0].n).toBeGreaterThan(3);
  });

  it('refuses a config without TLS for a server that accepts only TLS, naming connection.ssl', async () => {
    const proxy = await startTlsOnlyPostgres();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-tls-only-'));
    try {
      const overlay = path.join(dir, 'tls-only.yaml');
      fs.writeFileSync(
        overlay,
        yaml.stringify({
          backend: {
            listen: { port: await freePort() },
            database: {
              client: 'pg',
              prefix: `idp_${suffix}_tls_`,
              connection: { host: '127.0.0.1', port: proxy.port, user: 'postgres' },
            },
          },
        }),
      );
      backend = startBackend(['app-config.yaml', overlay], { NODE_ENV: 'development' });
      expect(await backend.exited).toBe(1);
      const output = backend.output();
      expect(output).toContain(
        `Refusing to start: PostgreSQL at 127.0.0.1:${proxy.port} accepts only TLS connections, but backend.database.connection has no ssl.`,
      );
      expect(output).toContain('no pg_hba.conf entry for host "127.0.0.1", user "postgres", database "postgres", no encryption');
      expect(output).toContain('rejectUnauthorized: true');
      expect(output).not.toMatch(/^\s+at /m);
      expect(proxy.refused).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
