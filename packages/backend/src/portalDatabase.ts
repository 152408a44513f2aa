/*
 * The portal's own PostgreSQL, checked before any plugin gets a database.
 * Two mistakes used to cost days on the platforms this grew from, each
 * ending in a crash loop whose message did not name the fix:
 *
 * - "permission denied to create database": Backstage gives every plugin
 *   its own database by default and creates it on first start, which needs
 *   CREATEDB;
 * - "no pg_hba.conf entry for host …, no encryption": the server accepts
 *   only TLS (pg_hba `hostssl`, RDS `rds.force_ssl=1`) and the config has
 *   no `connection.ssl`.
 *
 * Both are now refused at startup with the exact fix. The checks replace
 * Backstage's database service with one that runs them first (the same
 * DatabaseManager underneath), so they run exactly when a plugin would
 * otherwise hit the problem, and only for PostgreSQL.
 */
import {
  DatabaseService,
  RootConfigService,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { DatabaseManager } from '@backstage/backend-defaults/database';
import { ConfigReader } from '@backstage/config';
import { Client, ClientConfig } from 'pg';

/** A refusal to start, with the fix. Printed as is: it is the operator's to fix, not a bug. */
export class PortalDatabaseError extends Error {
  name = 'PortalDatabaseError';
}

/**
 * Ends the process with the refusal and nothing else, as startupFailure.ts
 * does for configuration problems. Thrown from a service factory instead,
 * the refusal would reach the operator once per plugin, wrapped in
 * Backstage's "Failed to instantiate service …" messages and stack traces.
 * Nothing has been created when this runs.
 */
function refuse(error: unknown): never {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}

/** Runs a check; a PortalDatabaseError ends the process (see {@link refuse}). */
async function orRefuse(check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    if (error instanceof PortalDatabaseError) refuse(error);
    throw error;
  }
}

/** What the checks need from `backend.database`. */
export interface PortalConnection {
  client: ClientConfig;
  /** `connection.ssl` (or sslmode in a connection string) is set. */
  tls: boolean;
  /** Where and as whom, for messages. */
  where: string;
  user: string;
}

/**
 * `backend.database` as a pg connection to its `postgres` database (where
 * Backstage itself creates plugin databases), or undefined when the checks
 * do not apply: not PostgreSQL, or a cloud connector (`type: rds` IAM auth,
 * Cloud SQL, Azure) that only Backstage knows how to open.
 */
export function portalConnection(config: RootConfigService): PortalConnection | undefined {
  if (config.getOptionalString('backend.database.client') !== 'pg') return undefined;
  const raw = config.getOptional('backend.database.connection');
  let client: ClientConfig;
  let tls: boolean;
  if (typeof raw === 'string') {
    client = { connectionString: raw };
    tls = /[?&](sslmode=(require|verify-ca|verify-full|prefer|no-verify)|ssl=(true|1))/.test(raw);
    const url = new URL(raw);
    return {
      client: { ...client, database: 'postgres' },
      tls,
      where: `${url.hostname}:${url.port || 5432}`,
      user: decodeURIComponent(url.username),
    };
  }
  const c = (raw ?? {}) as Record<string, any>;
  if (c.type && c.type !== 'default') return undefined;
  const ssl = c.ssl;
  tls = ssl !== undefined && ssl !== false && ssl !== 'false';
  let clientSsl: ClientConfig['ssl'] = false;
  if (tls) clientSsl = typeof ssl === 'object' ? ssl : { rejectUnauthorized: true };
  client = {
    host: c.host,
    port: c.port ? Number(c.port) : undefined,
    user: c.user,
    password: c.password,
    database: 'postgres',
    ssl: clientSsl,
    connectionTimeoutMillis: 10_000,
    application_name: 'backstage_startup_check',
  };
  return {
    client,
    tls,
    where: `${c.host ?? 'localhost'}:${c.port ?? 5432}`,
    user: String(c.user ?? ''),
  };
}

/**
 * True when the server refused a connection because it was not encrypted:
 * PostgreSQL's answer for a `hostssl`-only pg_hba.conf (and RDS with
 * `rds.force_ssl=1`): SQLSTATE 28000 "no pg_hba.conf entry for host …,
 * no encryption" ("SSL off" before PostgreSQL 14).
 */
export function isTlsRequiredError(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === '28000' &&
    /no pg_hba\.conf entry for host .*(no encryption|SSL off)/.test(e.message ?? '')
  );
}

async function withClient<T>(config: ClientConfig, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Refuses a config without TLS for a server that accepts only TLS. Any other
 * failure to connect is left to Backstage, which reports it as it always has.
 */
export async function checkServerTls(conn: PortalConnection): Promise<void> {
  if (conn.tls) return;
  try {
    await withClient(conn.client, async () => {});
  } catch (error) {
    if (!isTlsRequiredError(error)) return;
    throw new PortalDatabaseError(
      [
        `Refusing to start: PostgreSQL at ${conn.where} accepts only TLS connections, but backend.database.connection has no ssl.`,
        `The server answered: ${(error as Error).message}`,
        'Fix: connect over TLS and verify the server, e.g.',
        '  backend:',
        '    database:',
        '      connection:',
        '        ssl:',
        '          require: true',
        '          rejectUnauthorized: true',
        '          ca: ${POSTGRES_CA}   # the server CA (RDS: the region bundle), read from POSTGRES_CA_FILE',
      ].join('\n'),
    );
  }
}

/** What a plugin's database needs from the user, per Backstage's own naming. */
export function pluginDatabaseName(config: RootConfigService, pluginId: string): string | undefined {
  const db = config.getOptionalConfig('backend.database');
  if (!db) return undefined;
  if ((db.getOptionalString('pluginDivisionMode') ?? 'database') === 'schema') return undefined;
  const plugin = `plugin.${pluginId}`;
  if ((db.getOptionalString(`${plugin}.client`) ?? 'pg') !== 'pg') return undefined;
  const ensureExists =
    db.getOptionalBoolean(`${plugin}.ensureExists`) ?? db.getOptionalBoolean('ensureExists') ?? true;
  if (!ensureExists) return undefined;
  const own = db.getOptional(`${plugin}.connection`) as { database?: string } | string | undefined;
  if (own && typeof own === 'object' && own.database) return own.database;
  return `${db.getOptionalString('prefix') || 'backstage_plugin_'}${pluginId}`;
}

/**
 * Refuses to give plugin `pluginId` its own database when that database
 * does not exist and the user may not create it (no CREATEDB, not
 * superuser): Backstage would fail with "permission denied to create
 * database" on every restart.
 */
export async function checkPluginDatabase(
  config: RootConfigService,
  conn: PortalConnection,
  pluginId: string,
  rights: () => Promise<{ superuser: boolean; createdb: boolean } | undefined>,
): Promise<void> {
  const name = pluginDatabaseName(config, pluginId);
  if (!name) return;
  const may = await rights();
  if (!may || may.superuser || may.createdb) return;
  let exists: boolean;
  try {
    exists = await withClient(conn.client, async c =>
      (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount! > 0,
    );
  } catch {
    return; // Not ours to report: Backstage will.
  }
  if (exists) return;
  const quoted = `"${conn.user.replace(/"/g, '""')}"`;
  throw new PortalDatabaseError(
    [
      `Refusing to start: plugin "${pluginId}" needs its database "${name}", which does not exist, and PostgreSQL user ${quoted} at ${conn.where} may not create databases (no CREATEDB).`,
      'Fix one of:',
      `  - let the user create the plugins' databases (on RDS, as the master user):  ALTER ROLE ${quoted} CREATEDB;`,
      '  - or give each plugin a schema in one existing database instead:',
      '      backend.database.pluginDivisionMode: schema',
      '      backend.database.connection.database: <a database the user owns>',
      `  - or create every plugin database beforehand, owned by ${quoted}, and set backend.database.ensureExists: false`,
    ].join('\n'),
  );
}

/** The role's rights, read once; undefined when the server cannot be asked. */
function rightsReader(conn: PortalConnection) {
  let read: Promise<{ superuser: boolean; createdb: boolean } | undefined> | undefined;
  return () => {
    read ??= withClient(conn.client, async c => {
      const { rows } = await c.query(
        'SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user',
      );
      return rows[0] && { superuser: rows[0].rolsuper, createdb: rows[0].rolcreatedb };
    }).catch(() => undefined);
    return read;
  };
}

/**
 * Backstage's database service (the same DatabaseManager as
 * `databaseServiceFactory` of @backstage/backend-defaults), with the checks
 * above run first: the TLS rule once, the CREATEDB rule per plugin.
 */
export const checkedDatabaseServiceFactory = createServiceFactory({
  service: coreServices.database,
  deps: {
    config: coreServices.rootConfig,
    lifecycle: coreServices.lifecycle,
    logger: coreServices.logger,
    pluginMetadata: coreServices.pluginMetadata,
    rootLifecycle: coreServices.rootLifecycle,
    rootLogger: coreServices.rootLogger,
  },
  async createRootContext({ config, rootLifecycle, rootLogger }) {
    const conn = portalConnection(config);
    if (conn) await orRefuse(() => checkServerTls(conn));
    const manager = config.getOptional('backend.database')
      ? DatabaseManager.fromConfig(config, { rootLifecycle, rootLogger })
      : DatabaseManager.fromConfig(
          new ConfigReader({
            backend: { database: { client: 'better-sqlite3', connection: ':memory:' } },
          }),
          { rootLifecycle, rootLogger },
        );
    return { config, conn, manager, rights: conn ? rightsReader(conn) : undefined };
  },
  async factory({ pluginMetadata, lifecycle, logger }, { config, conn, manager, rights }) {
    const pluginId = pluginMetadata.getId();
    if (conn && rights) {
      await orRefuse(() => checkPluginDatabase(config, conn, pluginId, rights));
    }
    const database = manager.forPlugin(pluginId, { lifecycle, logger });
    const client = config.getOptionalString('backend.database.client');
    return client === 'better-sqlite3' ? withSqliteWal(database) : database;
  },
});

/**
 * Local SQLite in write-ahead-log mode. better-sqlite3 runs on the event
 * loop, and in SQLite's default rollback-journal mode every commit waits for
 * the journal and the database file to reach the disk (about 1 ms each here,
 * against 0.02 ms with WAL): with hundreds of commits per Create (task
 * events, the run journal, the catalog) that blocked the one event loop for
 * a large part of each Create under load (`yarn bench`, concurrency). WAL
 * is stored in the database file, so it holds for every later connection;
 * synchronous = NORMAL is WAL's usual pairing: a process crash loses
 * nothing committed, only a power cut may lose the last commits. SQLite is
 * for local use only; production runs on PostgreSQL.
 */
function withSqliteWal(database: DatabaseService): DatabaseService {
  let prepared: Promise<void> | undefined;
  return {
    ...database,
    async getClient() {
      const knex = await database.getClient();
      prepared ??= (async () => {
        const filename = (knex.client.config?.connection as { filename?: string } | undefined)?.filename;
        if (!filename || filename === ':memory:') return;
        await knex.raw('PRAGMA journal_mode = WAL');
        await knex.raw('PRAGMA synchronous = NORMAL');
      })();
      await prepared;
      return knex;
    },
  };
}
