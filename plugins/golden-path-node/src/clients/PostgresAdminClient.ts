import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { ConnectionOptions } from 'node:tls';
import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { Client, ClientConfig, Pool, escapeIdentifier, escapeLiteral } from 'pg';
import { DatabaseAdminConnection, DatabaseSslMode } from '../databaseConfig';
import {
  PostgresAdminApi,
  PostgresDatabase,
  PostgresRole,
} from './databaseTypes';

/**
 * The platform's admin login on PostgreSQL (RDS in production): creates and
 * drops the login role and the database of a service. Identifiers are
 * quoted with `escapeIdentifier`, literals (comments) with `escapeLiteral`:
 * PostgreSQL takes no bind parameters in DDL. Passwords never reach the
 * server in clear text: the client sends a SCRAM-SHA-256 verifier, as
 * psql's `\password` does, so statement logs cannot leak them.
 *
 * Our marker lives in `COMMENT ON ROLE/DATABASE` as JSON, so a step can tell
 * its own objects from anyone else's.
 */
export class PostgresAdminClient implements PostgresAdminApi {
  readonly #pool: Pool;
  readonly #connection: ClientConfig;
  readonly #logger?: LoggerService;
  #superuser?: Promise<boolean>;

  constructor(options: { connection: ClientConfig; logger?: LoggerService }) {
    this.#connection = options.connection;
    this.#logger = options.logger;
    this.#pool = new Pool({
      ...options.connection,
      max: 4,
      idleTimeoutMillis: 10_000,
      // The pool never keeps a finished process (or test) alive.
      allowExitOnIdle: true,
    });
    // An idle connection that breaks is replaced on next use; without a
    // listener it would crash the process.
    this.#pool.on('error', error =>
      this.#logger?.warn(`PostgreSQL admin connection lost: ${error.message}`),
    );
  }

  /** From `goldenPath.database` (see {@link DatabaseAdminConnection}). */
  static fromConnection(
    connection: DatabaseAdminConnection,
    options: { logger?: LoggerService } = {},
  ): PostgresAdminClient {
    return new PostgresAdminClient({
      connection: {
        host: connection.host,
        port: connection.port,
        user: connection.user,
        password: connection.password,
        database: connection.database,
        ssl: tlsOptions(connection.sslMode, connection.caCertificate),
        connectionTimeoutMillis: 10_000,
        application_name: 'golden-path-idp',
      },
      logger: options.logger,
    });
  }

  /** Ends the pool (tests, shutdown). */
  async close(): Promise<void> {
    await this.#pool.end();
  }

  async findRole(name: string): Promise<PostgresRole | undefined> {
    const { rows } = await this.#query(`read role "${name}"`, [
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit,
              shobj_description(oid, 'pg_authid') AS comment
         FROM pg_roles WHERE rolname = $1`,
      [name],
    ]);
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      name: r.rolname,
      comment: parseComment(r.comment),
      login: r.rolcanlogin,
      superuser: r.rolsuper,
      createdb: r.rolcreatedb,
      createrole: r.rolcreaterole,
      inherit: r.rolinherit,
    };
  }

  async createRole(name: string, comment: Record<string, string>): Promise<void> {
    const role = escapeIdentifier(name);
    await this.#transaction(`create role "${name}"`, async client => {
      // No password yet (PASSWORD NULL: nobody can sign in as it); the
      // secret step sets one and stores it where only the service reads it.
      await client.query(
        `CREATE ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD NULL`,
      );
      await client.query(
        `COMMENT ON ROLE ${role} IS ${escapeLiteral(JSON.stringify(comment))}`,
      );
      // A non-superuser admin (RDS) must be a member of the role to create
      // a database it owns (PostgreSQL 15 and earlier).
      if (!(await this.#isSuperuser())) {
        await client.query(`GRANT ${role} TO CURRENT_USER`);
      }
    });
    this.#logger?.info(`Created PostgreSQL role ${name}`);
  }

  async setRolePassword(name: string, password: string): Promise<void> {
    await this.#query(`set the password of role "${name}"`, [
      `ALTER ROLE ${escapeIdentifier(name)} WITH PASSWORD ${escapeLiteral(
        scramSha256Verifier(password),
      )}`,
    ]);
    this.#logger?.info(`Set a new password for PostgreSQL role ${name}`);
  }

  async dropRole(name: string): Promise<void> {
    // Its sessions first: a role with open connections cannot be dropped.
    await this.#query(`end the sessions of role "${name}"`, [
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [name],
    ]);
    await this.#query(`drop role "${name}"`, [
      `DROP ROLE IF EXISTS ${escapeIdentifier(name)}`,
    ]);
    this.#logger?.info(`Dropped PostgreSQL role ${name}`);
  }

  async findDatabase(name: string): Promise<PostgresDatabase | undefined> {
    const { rows } = await this.#query(`read database "${name}"`, [
      `SELECT d.datname, r.rolname AS owner,
              shobj_description(d.oid, 'pg_database') AS comment,
              shobj_description(r.oid, 'pg_authid') AS owner_comment
         FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
        WHERE d.datname = $1`,
      [name],
    ]);
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      name: r.datname,
      owner: r.owner,
      comment: parseComment(r.comment),
      ownerComment: parseComment(r.owner_comment),
    };
  }

  async createDatabase(
    name: string,
    owner: string,
    comment: Record<string, string>,
  ): Promise<void> {
    const db = escapeIdentifier(name);
    // Made by the admin and handed over last (see completeDatabase). CREATE
    // DATABASE cannot run in a transaction: the comment follows at once, and
    // only a crash between the two leaves a database a replay cannot tell
    // from someone else's (the run then reports the name as taken).
    await this.#query(`create database "${name}"`, [`CREATE DATABASE ${db}`]);
    await this.#query(`comment on database "${name}"`, [
      `COMMENT ON DATABASE ${db} IS ${escapeLiteral(JSON.stringify(comment))}`,
    ]);
    this.#logger?.info(`Created PostgreSQL database ${name}`);
    await this.completeDatabase(name, owner, comment);
  }

  async completeDatabase(
    name: string,
    owner: string,
    comment: Record<string, string>,
  ): Promise<void> {
    const db = escapeIdentifier(name);
    const role = escapeIdentifier(owner);
    await this.#query(`comment on database "${name}"`, [
      `COMMENT ON DATABASE ${db} IS ${escapeLiteral(JSON.stringify(comment))}`,
    ]);
    // Only the owner may connect: PUBLIC (every role, including other
    // services') loses the CONNECT and TEMP it has by default.
    await this.#query(`restrict database "${name}"`, [
      `REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC`,
    ]);
    // Inside it, schema public must belong to the role itself: it belongs
    // to pg_database_owner, whose rights a NOINHERIT role does not use. An
    // admin that is not a superuser (RDS) can hand it over only while it
    // owns the database, and only to a role with CREATE on the database.
    const client = new Client({ ...this.#connection, database: name });
    try {
      await attempt(`connect to database "${name}"`, () => client.connect());
      await attempt(`give schema public of "${name}" to ${owner}`, async () => {
        const { rows } = await client.query(
          `SELECT pg_get_userbyid(d.datdba) AS db_owner, pg_get_userbyid(n.nspowner) AS schema_owner
             FROM pg_database d, pg_namespace n
            WHERE d.datname = current_database() AND n.nspname = 'public'`,
        );
        if (rows[0]?.schema_owner !== owner) {
          await client.query(`GRANT CREATE ON DATABASE ${db} TO ${role}`);
          await client.query(`ALTER SCHEMA public OWNER TO ${role}`);
        }
        await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
        if (rows[0]?.db_owner !== owner) {
          await client.query(`ALTER DATABASE ${db} OWNER TO ${role}`);
        }
      });
    } finally {
      await client.end().catch(() => {});
    }
    this.#logger?.info(`PostgreSQL database ${name} belongs to ${owner} alone`);
  }

  async dropDatabase(name: string): Promise<void> {
    // WITH (FORCE) ends the sessions connected to it first.
    await this.#query(`drop database "${name}"`, [
      `DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`,
    ]);
    this.#logger?.info(`Dropped PostgreSQL database ${name}`);
  }

  #isSuperuser(): Promise<boolean> {
    this.#superuser ??= this.#query('read the admin role', [
      'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
    ]).then(r => r.rows[0]?.rolsuper === true);
    return this.#superuser;
  }

  async #query(what: string, [text, values]: [string, unknown[]?]) {
    return attempt(what, () => this.#pool.query(text, values));
  }

  async #transaction(what: string, work: (client: any) => Promise<void>) {
    const client = await attempt(what, () => this.#pool.connect());
    try {
      await attempt(what, async () => {
        await client.query('BEGIN');
        try {
          await work(client);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      });
    } finally {
      client.release();
    }
  }
}

/**
 * node-postgres TLS options with libpq's meaning of `sslmode`: verify-full
 * checks the chain and the host name, verify-ca only the chain, require
 * encrypts (and checks the chain when a CA is given, as libpq does with a
 * root certificate).
 */
export function tlsOptions(
  sslMode: DatabaseSslMode,
  caCertificate?: string,
): ConnectionOptions {
  const ca = caCertificate ? { ca: caCertificate } : {};
  if (sslMode === 'verify-full') return { ...ca, rejectUnauthorized: true };
  if (sslMode === 'verify-ca' || caCertificate) {
    return { ...ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  }
  return { rejectUnauthorized: false };
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password`
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802 and
 * 7677). Sent instead of the password, the server stores it as is.
 * PostgreSQL normalises passwords with SASLprep first; printable ASCII is
 * unchanged by it, so only that is accepted here.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string {
  if (!/^[\x21-\x7e]{16,}$/.test(password)) {
    throw new InputError(
      'A database password must be at least 16 printable ASCII characters without spaces',
    );
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) =>
    createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString(
    'base64',
  )}:${serverKey.toString('base64')}`;
}

/** True when `verifier` (as stored in pg_authid) was made from `password`. */
export function scramVerifierMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  return (
    scramSha256Verifier(password, Buffer.from(m[2], 'base64'), Number(m[1])) ===
    verifier
  );
}

function parseComment(text: string | null): Record<string, string> {
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    // Someone else's free-text comment.
    return {};
  }
}

/**
 * THE mapping from PostgreSQL errors (SQLSTATE codes) to Backstage errors.
 * Messages from the server name objects, never passwords (none are sent).
 */
export function toBackstageError(error: unknown, what: string): Error {
  const code = (error as { code?: string })?.code ?? '';
  const detail = (error as Error)?.message ?? String(error);
  const message = `Could not ${what}: ${detail}`;
  if (code === '42710' || code === '42P04' || code === '2BP01') {
    return new ConflictError(message, error);
  }
  if (code === '3D000' || code === '42704') {
    return new NotFoundError(message, error);
  }
  if (code === '42501' || code === '28000' || code === '28P01') {
    return new NotAllowedError(message, error);
  }
  if (code === '42601' || code === '22023') {
    return new InputError(message, error);
  }
  return new ForwardedError(`Could not ${what}`, error);
}

async function attempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw toBackstageError(error, what);
  }
}
