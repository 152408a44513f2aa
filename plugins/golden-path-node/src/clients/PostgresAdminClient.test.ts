import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { Client, ClientConfig } from 'pg';
import {
  PostgresAdminClient,
  scramSha256Verifier,
  scramVerifierMatches,
  toBackstageError,
  tlsOptions,
} from './PostgresAdminClient';

/**
 * Against the machine's real PostgreSQL (127.0.0.1:5432, user postgres, see
 * ENVIRONMENT.md). Every name starts with a prefix unique to this run, and
 * everything with that prefix is dropped at the end.
 */
const ADMIN: ClientConfig = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
const prefix = `gpt_${randomBytes(3).toString('hex')}_`;
const marker = { 'golden-path-idp/run': 'run-1', 'golden-path-idp/service': 'svc' };

jest.setTimeout(60_000);

async function sql<T = any>(text: string, values: unknown[] = [], config: ClientConfig = ADMIN): Promise<T[]> {
  const client = new Client(config);
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Connects as `user` to `database`; resolves with the error, or undefined when it worked. */
async function connectAs(user: string, database: string, extra: ClientConfig = {}) {
  const client = new Client({ ...ADMIN, user, database, ...extra });
  try {
    await client.connect();
    return { error: undefined, client };
  } catch (error) {
    await client.end().catch(() => {});
    return { error: error as Error & { code?: string }, client: undefined };
  }
}

describe('PostgresAdminClient (real PostgreSQL)', () => {
  const admin = new PostgresAdminClient({ connection: ADMIN });

  afterAll(async () => {
    for (const { datname } of await sql('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`])) {
      await sql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    for (const { rolname } of await sql('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`${prefix}%`])) {
      await sql(`DROP ROLE IF EXISTS "${rolname.replace(/"/g, '""')}"`);
    }
    await admin.close();
  });

  it('creates a login role with no other attribute, no password, and our marker', async () => {
    const name = `${prefix}role`;
    expect(await admin.findRole(name)).toBeUndefined();
    await admin.createRole(name, marker);
    expect(await admin.findRole(name)).toEqual({
      name,
      comment: marker,
      login: true,
      superuser: false,
      createdb: false,
      createrole: false,
      inherit: false,
    });
    const [row] = await sql(
      'SELECT rolreplication, rolbypassrls, rolpassword FROM pg_authid WHERE rolname = $1',
      [name],
    );
    expect(row).toEqual({ rolreplication: false, rolbypassrls: false, rolpassword: null });
  });

  it('refuses to create a role that exists, with ConflictError', async () => {
    const name = `${prefix}twice`;
    await admin.createRole(name, marker);
    await expect(admin.createRole(name, marker)).rejects.toBeInstanceOf(ConflictError);
  });

  it('quotes identifiers and literals: a hostile name is just a name', async () => {
    const name = `${prefix}x"; DROP ROLE postgres; --`;
    const comment = { note: "it's \"quoted\" -- ; $$" };
    await admin.createRole(name, comment);
    expect(await admin.findRole(name)).toMatchObject({ name, comment });
    expect(await admin.findRole('postgres')).toMatchObject({ superuser: true });
    await admin.dropRole(name);
    expect(await admin.findRole(name)).toBeUndefined();
  });

  it('sends a SCRAM verifier that PostgreSQL would have computed for the password', async () => {
    const name = `${prefix}pw`;
    await admin.createRole(name, marker);
    const password = randomBytes(24).toString('hex');
    await admin.setRolePassword(name, password);
    const [{ rolpassword }] = await sql('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
    expect(rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(scramVerifierMatches(rolpassword, password)).toBe(true);
    expect(scramVerifierMatches(rolpassword, `${password}x`)).toBe(false);
  });

  it('verifies what PostgreSQL itself stores for a password (the algorithm matches the server)', async () => {
    const name = `${prefix}server_pw`;
    await admin.createRole(name, marker);
    const password = randomBytes(20).toString('base64url');
    const client = new Client(ADMIN);
    await client.connect();
    try {
      await client.query("SET password_encryption = 'scram-sha-256'");
      await client.query(`ALTER ROLE "${name}" PASSWORD '${password}'`);
    } finally {
      await client.end();
    }
    const [{ rolpassword }] = await sql('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
    expect(scramVerifierMatches(rolpassword, password)).toBe(true);
  });

  describe('a service database', () => {
    const owner = `${prefix}owner`;
    const other = `${prefix}other`;
    const db = `${prefix}db`;

    beforeAll(async () => {
      await admin.createRole(owner, marker);
      await admin.createRole(other, { 'golden-path-idp/run': 'someone-else' });
      await admin.createDatabase(db, owner, marker);
    });

    it('is owned by the role and carries our marker (and the owner’s)', async () => {
      expect(await admin.findDatabase(db)).toEqual({
        name: db,
        owner,
        comment: marker,
        ownerComment: marker,
      });
    });

    it('admits its owner', async () => {
      const { error, client } = await connectAs(owner, db);
      expect(error).toBeUndefined();
      await client!.end();
    });

    it('refuses every other role: CONNECT is revoked from PUBLIC', async () => {
      const { error } = await connectAs(other, db);
      expect(error?.code).toBe('42501');
      expect(error?.message).toMatch(/permission denied for database/);
      const [row] = await sql(
        "SELECT has_database_privilege($1, $2, 'CONNECT') AS connect, has_database_privilege($1, $2, 'TEMP') AS temp",
        [other, db],
      );
      expect(row).toEqual({ connect: false, temp: false });
    });

    it('leaves schema public to its owner alone', async () => {
      const [row] = await sql(
        "SELECT has_schema_privilege($1, 'public', 'USAGE') AS other_usage, has_schema_privilege($2, 'public', 'CREATE') AS owner_create",
        [other, owner],
        { ...ADMIN, database: db },
      );
      expect(row).toEqual({ other_usage: false, owner_create: true });
    });

    it('lets its owner create and use tables (no CREATEDB, no superuser needed)', async () => {
      const client = new Client({ ...ADMIN, user: owner, database: db });
      await client.connect();
      try {
        await client.query('CREATE TABLE things (id int)');
        await client.query('INSERT INTO things VALUES (1)');
        const { rows } = await client.query('SELECT count(*)::int AS n FROM things');
        expect(rows).toEqual([{ n: 1 }]);
      } finally {
        await client.end();
      }
    });

    it('can be reached over TLS (pg_stat_ssl says so), when the server has TLS on', async () => {
      const [{ ssl }] = await sql<{ ssl: string }>('SHOW ssl');
      if (ssl !== 'on') {
        // Not provable on a server without certificates (this machine's
        // PostgreSQL ships with ssl = off); say so instead of pretending.
        console.log('TLS not checked: this PostgreSQL runs with ssl = off');
        return;
      }
      const { error, client } = await connectAs(owner, db, { ssl: tlsOptions('require') });
      expect(error).toBeUndefined();
      const { rows } = await client!.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      await client!.end();
      expect(rows).toEqual([{ ssl: true }]);
    });

    it('refuses to create it again, with ConflictError', async () => {
      await expect(admin.createDatabase(db, owner, marker)).rejects.toBeInstanceOf(ConflictError);
    });
  });

  it('recognises a database a crash left without its comment by its owner’s marker', async () => {
    const owner = `${prefix}crash_owner`;
    const db = `${prefix}crash_db`;
    await admin.createRole(owner, marker);
    await sql(`CREATE DATABASE "${db}" OWNER "${owner}"`);
    expect(await admin.findDatabase(db)).toEqual({ name: db, owner, comment: {}, ownerComment: marker });
    await admin.completeDatabase(db, owner, marker);
    expect(await admin.findDatabase(db)).toMatchObject({ comment: marker });
  });

  it('ignores a comment that is not ours (free text)', async () => {
    const name = `${prefix}free_text`;
    await sql(`CREATE ROLE "${name}"`);
    await sql(`COMMENT ON ROLE "${name}" IS 'made by hand'`);
    expect(await admin.findRole(name)).toMatchObject({ comment: {} });
  });

  it('drops a database and its role even while the role is connected; dropping again is fine', async () => {
    const owner = `${prefix}busy`;
    const db = `${prefix}busy_db`;
    await admin.createRole(owner, marker);
    await admin.createDatabase(db, owner, marker);
    const { client } = await connectAs(owner, db);
    client!.on('error', () => {}); // terminated by the drop
    await admin.dropDatabase(db);
    await admin.dropRole(owner);
    expect(await admin.findDatabase(db)).toBeUndefined();
    expect(await admin.findRole(owner)).toBeUndefined();
    await expect(admin.dropDatabase(db)).resolves.toBeUndefined();
    await expect(admin.dropRole(owner)).resolves.toBeUndefined();
    await client!.end().catch(() => {});
  });

  it('works with an admin that is not a superuser, as on RDS (CREATEROLE, CREATEDB)', async () => {
    const rdsAdmin = `${prefix}rds_admin`;
    await sql(`CREATE ROLE "${rdsAdmin}" LOGIN CREATEROLE CREATEDB`);
    const client = new PostgresAdminClient({ connection: { ...ADMIN, user: rdsAdmin } });
    const role = `${prefix}rds_svc`;
    try {
      await client.createRole(role, marker);
      await client.createDatabase(role, role, marker);
      expect(await client.findDatabase(role)).toEqual({
        name: role,
        owner: role,
        comment: marker,
        ownerComment: marker,
      });
      const [row] = await sql(
        "SELECT has_schema_privilege($1, 'public', 'CREATE') AS owner_create, has_schema_privilege('public', 'public', 'USAGE') AS public_usage",
        [role],
        { ...ADMIN, database: role },
      );
      expect(row).toEqual({ owner_create: true, public_usage: false });
      await client.setRolePassword(role, randomBytes(20).toString('hex'));
      await client.dropDatabase(role);
      await client.dropRole(role);
      expect(await admin.findRole(role)).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it('says who refused when the admin may not create roles', async () => {
    const weak = `${prefix}weak_admin`;
    await sql(`CREATE ROLE "${weak}" LOGIN`);
    const client = new PostgresAdminClient({ connection: { ...ADMIN, user: weak } });
    try {
      await expect(client.createRole(`${prefix}nope`, marker)).rejects.toThrow(NotAllowedError);
      await expect(client.createRole(`${prefix}nope`, marker)).rejects.toThrow(
        /Could not create role ".*nope": permission denied to create role/,
      );
    } finally {
      await client.close();
    }
  });
});

describe('scramSha256Verifier', () => {
  it('is deterministic for a given salt and iteration count, and differs by password', () => {
    const salt = Buffer.alloc(16, 7);
    const a = scramSha256Verifier('correct-horse-battery', salt);
    expect(a).toBe(scramSha256Verifier('correct-horse-battery', salt));
    expect(a).not.toBe(scramSha256Verifier('correct-horse-batterY', salt));
    expect(a).toMatch(/^SCRAM-SHA-256\$4096:BwcHBwcHBwcHBwcHBwcHBw==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
  });

  it.each(['short', 'with space in the middle', 'ünïcödé-password-long'])(
    'refuses %p (SASLprep would change it, or too weak)',
    password => {
      expect(() => scramSha256Verifier(password)).toThrow(InputError);
    },
  );
});

describe('toBackstageError', () => {
  it.each([
    ['42710', ConflictError],
    ['42P04', ConflictError],
    ['2BP01', ConflictError],
    ['3D000', NotFoundError],
    ['42704', NotFoundError],
    ['42501', NotAllowedError],
    ['28P01', NotAllowedError],
    ['42601', InputError],
    ['08006', ForwardedError],
    [undefined, ForwardedError],
  ])('maps SQLSTATE %p to %p', (code, type) => {
    const error = Object.assign(new Error('server says no'), { code });
    const mapped = toBackstageError(error, 'do it');
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.message).toMatch(/^Could not do it/);
  });
});

describe('tlsOptions', () => {
  it.each([
    ['verify-full', undefined, { rejectUnauthorized: true }],
    ['verify-full', 'PEM', { ca: 'PEM', rejectUnauthorized: true }],
    ['require', undefined, { rejectUnauthorized: false }],
  ] as const)('%s with CA %p', (mode, ca, expected) => {
    expect(tlsOptions(mode, ca)).toEqual(expected);
  });

  it.each([
    ['verify-ca', 'PEM'],
    ['require', 'PEM'],
  ] as const)('%s with a CA checks the chain but not the host name', (mode, ca) => {
    const options = tlsOptions(mode, ca);
    expect(options).toMatchObject({ ca, rejectUnauthorized: true });
    expect(options.checkServerIdentity?.('anything', {} as any)).toBeUndefined();
  });
});
