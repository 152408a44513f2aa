import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ConfigReader } from '@backstage/config';
import { Client } from 'pg';
import { ADMIN_CONNECTION, ensurePostgresTls } from './__testUtils__/postgresTls';
import { startTlsOnlyPostgres } from './__testUtils__/tlsOnlyPostgres';
import {
  PortalDatabaseError,
  checkPluginDatabase,
  checkServerTls,
  isTlsRequiredError,
  pluginDatabaseName,
  portalConnection,
} from './portalDatabase';

/**
 * The portal's startup checks against the machine's real PostgreSQL. Its
 * pg_hba.conf accepts clear text and must not be changed, so a server that
 * accepts only TLS is a proxy in front of it (tlsOnlyPostgres.ts): TLS
 * connections reach the real server end to end, clear-text ones get
 * PostgreSQL's own refusal.
 */
jest.setTimeout(60_000);

const suffix = randomBytes(3).toString('hex');
const weakUser = `idp_nocreatedb_${suffix}`;
const createdbUser = `idp_createdb_${suffix}`;

async function admin(sql: string, values: unknown[] = []) {
  const client = new Client({ ...ADMIN_CONNECTION, database: 'postgres' });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}

const config = (database: Record<string, any>) =>
  new ConfigReader({ backend: { database } });

beforeAll(async () => {
  await admin(`CREATE ROLE "${weakUser}" LOGIN NOCREATEDB`);
  await admin(`CREATE ROLE "${createdbUser}" LOGIN CREATEDB`);
});

afterAll(async () => {
  for (const { datname } of await admin('SELECT datname FROM pg_database WHERE datname LIKE $1', [`%${suffix}%`])) {
    await admin(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  await admin(`DROP ROLE IF EXISTS "${weakUser}"`);
  await admin(`DROP ROLE IF EXISTS "${createdbUser}"`);
});

describe('the TLS rule', () => {
  let proxy: Awaited<ReturnType<typeof startTlsOnlyPostgres>>;
  let ca: string;
  beforeAll(async () => {
    ca = fs.readFileSync(await ensurePostgresTls(), 'utf8');
    proxy = await startTlsOnlyPostgres();
  });
  afterAll(() => proxy.close());

  const tlsOnly = (connection: Record<string, unknown>) =>
    portalConnection(
      config({
        client: 'pg',
        connection: { host: '127.0.0.1', port: proxy.port, user: 'postgres', ...connection },
      }),
    )!;

  it('refuses a config without ssl for a server that accepts only TLS, with the fix', async () => {
    const before = proxy.refused;
    const error = await checkServerTls(tlsOnly({})).catch(e => e);
    expect(error).toBeInstanceOf(PortalDatabaseError);
    expect(error.message).toContain(
      `Refusing to start: PostgreSQL at 127.0.0.1:${proxy.port} accepts only TLS connections, but backend.database.connection has no ssl.`,
    );
    expect(error.message).toContain(
      'The server answered: no pg_hba.conf entry for host "127.0.0.1", user "postgres", database "postgres", no encryption',
    );
    expect(error.message).toMatch(/ssl:\n\s+require: true\n\s+rejectUnauthorized: true\n\s+ca: \$\{POSTGRES_CA\}/);
    expect(proxy.refused).toBe(before + 1);
  });

  it('accepts the same server with ssl in the config, and the connection really is TLS (pg_stat_ssl)', async () => {
    const conn = tlsOnly({ ssl: { require: true, rejectUnauthorized: true, ca } });
    await expect(checkServerTls(conn)).resolves.toBeUndefined();
    const client = new Client(conn.client);
    await client.connect();
    const { rows } = await client.query(
      'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    await client.end();
    expect(rows[0]).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
  });

  it('verifies the certificate end to end through the proxy (a wrong CA is refused)', async () => {
    const conn = tlsOnly({ ssl: { require: true, rejectUnauthorized: true } });
    const client = new Client(conn.client);
    await expect(client.connect()).rejects.toThrow(/self.signed|unable to (verify|get local issuer)/i);
  });

  it('accepts a config without ssl for a server that also accepts clear text (this machine’s)', async () => {
    const conn = portalConnection(
      config({ client: 'pg', connection: { ...ADMIN_CONNECTION } }),
    )!;
    expect(conn.tls).toBe(false);
    await expect(checkServerTls(conn)).resolves.toBeUndefined();
  });

  it('leaves other connection failures to Backstage (nothing listening)', async () => {
    const conn = portalConnection(
      config({ client: 'pg', connection: { host: '127.0.0.1', port: 1, user: 'x' } }),
    )!;
    await expect(checkServerTls(conn)).resolves.toBeUndefined();
  });

  it.each([
    ['28000', 'no pg_hba.conf entry for host "10.0.1.5", user "backstage", database "postgres", no encryption', true],
    ['28000', 'no pg_hba.conf entry for host "10.0.1.5", user "backstage", database "postgres", SSL off', true],
    ['28000', 'no pg_hba.conf entry for host "10.0.1.5", user "backstage", database "postgres", SSL encryption', false],
    ['28P01', 'password authentication failed for user "backstage"', false],
    [undefined, 'connect ECONNREFUSED 127.0.0.1:5432', false],
  ])('maps SQLSTATE %p "%s" to TLS-required = %p', (code, message, expected) => {
    expect(isTlsRequiredError(Object.assign(new Error(message), { code }))).toBe(expected);
  });
});

describe('the CREATEDB rule', () => {
  const pg = (user: string, extra: Record<string, unknown> = {}) =>
    config({
      client: 'pg',
      prefix: `idp_${suffix}_`,
      connection: { host: '127.0.0.1', port: 5432, user },
      ...extra,
    });
  const rightsOf = (user: string) => async () => {
    const [row] = await admin('SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = $1', [user]);
    return { superuser: row.rolsuper, createdb: row.rolcreatedb };
  };
  const check = (c: ConfigReader, user: string, plugin = 'catalog') =>
    checkPluginDatabase(c, portalConnection(c)!, plugin, rightsOf(user));

  it('refuses a user without CREATEDB whose plugin database is missing, naming both fixes', async () => {
    const error = await check(pg(weakUser), weakUser).catch(e => e);
    expect(error).toBeInstanceOf(PortalDatabaseError);
    expect(error.message).toContain(
      `plugin "catalog" needs its database "idp_${suffix}_catalog", which does not exist, and PostgreSQL user "${weakUser}" at 127.0.0.1:5432 may not create databases (no CREATEDB).`,
    );
    expect(error.message).toContain(`ALTER ROLE "${weakUser}" CREATEDB;`);
    expect(error.message).toContain('backend.database.pluginDivisionMode: schema');
  });

  it('the refusal is true: that user really cannot create the database', async () => {
    const client = new Client({ ...ADMIN_CONNECTION, user: weakUser, database: 'postgres' });
    await client.connect();
    const error = await client.query(`CREATE DATABASE "idp_${suffix}_catalog"`).catch(e => e);
    await client.end();
    expect(error.message).toBe('permission denied to create database');
  });

  it('accepts a user with CREATEDB', async () => {
    await expect(check(pg(createdbUser), createdbUser)).resolves.toBeUndefined();
  });

  it('accepts a superuser', async () => {
    await expect(check(pg('postgres'), 'postgres')).resolves.toBeUndefined();
  });

  it('accepts a user without CREATEDB when the plugin database already exists', async () => {
    await admin(`CREATE DATABASE "idp_${suffix}_scaffolder" OWNER "${weakUser}"`);
    await expect(check(pg(weakUser), weakUser, 'scaffolder')).resolves.toBeUndefined();
  });

  it.each([
    ['schema per plugin', { pluginDivisionMode: 'schema' }],
    ['databases made beforehand', { ensureExists: false }],
    ['a plugin on SQLite', { plugin: { catalog: { client: 'better-sqlite3' } } }],
  ])('does not apply with %s', async (_what, extra) => {
    await expect(check(pg(weakUser, extra), weakUser)).resolves.toBeUndefined();
  });

  it('names the database Backstage would use (prefix, or the plugin’s own connection.database)', () => {
    expect(pluginDatabaseName(pg(weakUser), 'auth')).toBe(`idp_${suffix}_auth`);
    expect(pluginDatabaseName(config({ client: 'pg' }), 'auth')).toBe('backstage_plugin_auth');
    expect(
      pluginDatabaseName(config({ client: 'pg', plugin: { auth: { connection: { database: 'auth_db' } } } }), 'auth'),
    ).toBe('auth_db');
  });

  it('does not apply to SQLite or to cloud connectors it cannot open', () => {
    expect(portalConnection(config({ client: 'better-sqlite3' }))).toBeUndefined();
    expect(
      portalConnection(config({ client: 'pg', connection: { type: 'cloudsql', instance: 'x' } })),
    ).toBeUndefined();
  });
});
