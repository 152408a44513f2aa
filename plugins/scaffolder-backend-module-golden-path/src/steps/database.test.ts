import { randomBytes } from 'node:crypto';
import { mockServices } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import {
  DatabaseClients,
  PostgresAdminClient,
  SecretWriterApi,
  StoredSecret,
  scramVerifierMatches,
} from '@internal/plugin-golden-path-node';
import { exampleRequest, exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
// Test-only: the journal's knex, here on the pg driver it already brings.
// eslint-disable-next-line @backstage/no-undeclared-imports
import knexFactory from 'knex';
import { journalDatabase } from '../__testUtils__/goldenPathRun';
import { ServicePlan, planService } from '../plan/ServicePlan';
import { PlatformSettings } from '../render/types';
import { SagaEngine, SagaRolledBackError } from '../saga/engine';
import { RunStore } from '../saga/RunStore';
import { databaseSteps, generateDatabasePassword } from './database';

/**
 * The database steps against the machine's real PostgreSQL (the role and
 * database are really made and dropped) and an in-memory secret store,
 * driven by the real saga engine and journal. Names carry a prefix unique
 * to this run; afterAll drops anything left with it.
 */
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
const prefix = `gps${randomBytes(3).toString('hex')}_`;
const settings: PlatformSettings = {
  ...exampleSettings,
  database: {
    host: '127.0.0.1',
    port: 5432,
    sslMode: 'require',
    namePrefix: prefix,
  },
};
const logger = mockServices.logger.mock();

jest.setTimeout(120_000);

class MemorySecrets implements SecretWriterApi {
  readonly kind = 'AWS Secrets Manager' as const;
  readonly secrets = new Map<string, { data: Record<string, string>; tags: Record<string, string> }>();
  async findSecret(path: string): Promise<StoredSecret | undefined> {
    const s = this.secrets.get(path);
    return s && { path, tags: s.tags };
  }
  async putSecret(path: string, data: Record<string, string>, tags: Record<string, string>) {
    this.secrets.set(path, { data, tags });
  }
  async deleteSecret(path: string) {
    this.secrets.delete(path);
  }
}

/** Counts every client call and fails the `failAt`-th (1-based). */
class Faults {
  calls: string[] = [];
  failAt?: number;
  wrap<T extends object>(label: string, target: T): T {
    return new Proxy(target, {
      get: (t, prop) => {
        const value = (t as any)[prop];
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          this.calls.push(`${label}.${String(prop)}`);
          if (this.calls.length === this.failAt) {
            throw new Error(`injected failure of ${label}.${String(prop)}`);
          }
          return value.apply(t, args);
        };
      },
    });
  }
}

const admin = new PostgresAdminClient({ connection: ADMIN });

const adminDb = knexFactory({ client: 'pg', connection: ADMIN, pool: { min: 0, max: 2 } });

async function sql(text: string, values: unknown[] = []): Promise<any[]> {
  // knex binds `?`; these statements use $1, $2 as in psql.
  const bindings = values as any[];
  return (await adminDb.raw(text.replace(/\$\d+/g, '?'), bindings)).rows;
}

let tasks = 0;

/** One run of the database steps for service `name`, as the engine runs it. */
async function runDatabaseSteps(
  name: string,
  opts: { faults?: Faults; secrets?: MemorySecrets; marker?: string; taskId?: string } = {},
) {
  const faults = opts.faults ?? new Faults();
  const secrets = opts.secrets ?? new MemorySecrets();
  const marker = opts.marker ?? randomBytes(8).toString('hex');
  const taskId = opts.taskId ?? `task-${++tasks}`;
  const plan: ServicePlan = planService(
    settings,
    { ...exampleRequest, name, database: true },
    { marker, now: new Date('2026-01-01T00:00:00Z') },
  );
  const clients: DatabaseClients = {
    admin: faults.wrap('postgres', admin),
    secrets: faults.wrap('secrets', secrets),
  };
  const store = await RunStore.create(journalDatabase());
  await store.start({ taskId, serviceName: name, kind: 'create', marker, plan: {} });
  const engine = new SagaEngine({ store, logger, owner: 'test', leaseMs: 10_000 });
  const steps = databaseSteps(clients, plan);
  const result = await engine
    .execute({ taskId, plan, steps, logger })
    .then(results => ({ results, error: undefined }))
    .catch(error => ({ results: undefined, error: error as Error }));
  return { ...result, plan, secrets, faults, store, taskId };
}

const leftovers = async (identifier: string, secrets: MemorySecrets, path: string) => [
  ...((await admin.findRole(identifier)) ? [`role ${identifier}`] : []),
  ...((await admin.findDatabase(identifier)) ? [`database ${identifier}`] : []),
  ...(secrets.secrets.has(path) ? [`secret ${path}`] : []),
];

afterAll(async () => {
  for (const { datname } of await sql('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`])) {
    await sql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  for (const { rolname } of await sql('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`${prefix}%`])) {
    await sql(`DROP ROLE IF EXISTS "${rolname}"`);
  }
  await admin.close();
  await adminDb.destroy();
});

describe('database steps (real PostgreSQL)', () => {
  it('make the role, its database and the password secret; the password is the role’s', async () => {
    const { error, plan, secrets, faults } = await runDatabaseSteps('made-ok');
    expect(error).toBeUndefined();
    const db = plan.database!;
    expect(await admin.findRole(db.role)).toMatchObject({
      login: true,
      superuser: false,
      createdb: false,
      createrole: false,
      comment: { 'golden-path-idp/run': plan.marker, 'golden-path-idp/service': 'made-ok' },
    });
    expect(await admin.findDatabase(db.name)).toMatchObject({ owner: db.role });
    const stored = secrets.secrets.get(db.secretPath)!;
    expect(stored.tags).toEqual({ 'golden-path-idp/run': plan.marker, 'golden-path-idp/service': 'made-ok' });
    expect(stored.data).toMatchObject({ username: db.role, dbname: db.name, host: '127.0.0.1', port: '5432' });
    const [{ rolpassword }] = await sql('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [db.role]);
    expect(scramVerifierMatches(rolpassword, stored.data.password)).toBe(true);
    // The journal and the calls never carry the password.
    expect(JSON.stringify(faults.calls)).not.toContain(stored.data.password);
  });

  it('journal where the password is, never the password', async () => {
    const { results, secrets, plan } = await runDatabaseSteps('journal-ok');
    const password = secrets.secrets.get(plan.database!.secretPath)!.data.password;
    expect(JSON.stringify(results)).not.toContain(password);
    expect(results!['database.secret']).toEqual({
      secretPath: plan.database!.secretPath,
      store: 'AWS Secrets Manager',
    });
  });

  it('rotate the password on a replay: a new one on the role and in the secret', async () => {
    const secrets = new MemorySecrets();
    const first = await runDatabaseSteps('replayed', { secrets, marker: 'replay-marker', taskId: 'replay-1' });
    expect(first.error).toBeUndefined();
    const before = secrets.secrets.get(first.plan.database!.secretPath)!.data.password;
    // A second run with the same marker: every step finds its own resource.
    const again = await runDatabaseSteps('replayed', { secrets, marker: 'replay-marker', taskId: 'replay-2' });
    expect(again.error).toBeUndefined();
    const after = secrets.secrets.get(first.plan.database!.secretPath)!.data.password;
    expect(after).not.toBe(before);
    const [{ rolpassword }] = await sql('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [first.plan.database!.role]);
    expect(scramVerifierMatches(rolpassword, after)).toBe(true);
  });

  it('refuse a role someone else made, name it as taken, and leave it alone', async () => {
    const identifier = `${prefix}someone_elses`;
    await sql(`CREATE ROLE "${identifier}" LOGIN`);
    const { error } = await runDatabaseSteps('someone-elses');
    expect(error).toBeInstanceOf(SagaRolledBackError);
    expect((error as SagaRolledBackError).cause).toBeInstanceOf(ConflictError);
    expect(error!.message).toContain(
      `Service name "someone-elses" is already taken: PostgreSQL role ${identifier}`,
    );
    expect(await admin.findRole(identifier)).toBeDefined();
    expect(await admin.findDatabase(identifier)).toBeUndefined();
  });

  it('fail at every call in turn and leave no role, database or secret behind (fault sweep)', async () => {
    const clean = await runDatabaseSteps('sweep-clean');
    expect(clean.error).toBeUndefined();
    const calls = clean.faults.calls.length;
    expect(calls).toBeGreaterThanOrEqual(6);
    const orphans: string[] = [];
    for (let failAt = 1; failAt <= calls; failAt++) {
      const name = `sweep-${failAt}`;
      const faults = new Faults();
      faults.failAt = failAt;
      const { error, plan, secrets, store, taskId } = await runDatabaseSteps(name, { faults });
      expect(error).toBeInstanceOf(SagaRolledBackError);
      expect(error!.message).toContain('injected failure');
      expect((await store.get(taskId))?.state).toBe('rolled_back');
      const left = await leftovers(plan.database!.role, secrets, plan.database!.secretPath);
      orphans.push(...left.map(l => `fail at ${failAt} (${faults.calls[failAt - 1]}): ${l}`));
    }
    // eslint-disable-next-line no-console
    console.log(`database fault sweep: ${calls} fault points (${clean.faults.calls.join(', ')}), ${orphans.length} orphans`);
    expect(orphans).toEqual([]);
  });

  it('complete a database a crash left between CREATE DATABASE and its comment (found by its owner)', async () => {
    const identifier = `${prefix}half_made`;
    const marker = 'half-made-marker';
    await admin.createRole(identifier, {
      'golden-path-idp/run': marker,
      'golden-path-idp/service': 'half-made',
    });
    await sql(`CREATE DATABASE "${identifier}" OWNER "${identifier}"`);
    const { error } = await runDatabaseSteps('half-made', { marker });
    expect(error).toBeUndefined();
    expect(await admin.findDatabase(identifier)).toMatchObject({
      comment: { 'golden-path-idp/run': marker },
    });
    const [row] = await sql("SELECT has_database_privilege('public', $1, 'CONNECT') AS public_connect", [identifier]);
    expect(row).toEqual({ public_connect: false });
  });

  it('fail inside the saga (and so roll back) when the platform wiring has no database clients', async () => {
    const plan = planService(
      settings,
      { ...exampleRequest, name: 'unwired', database: true },
      { marker: 'm', now: new Date() },
    );
    const [step] = databaseSteps(undefined, plan);
    await expect(step.ensure({} as any, {}, undefined)).rejects.toThrow(
      'the platform has no database server configured',
    );
  });
});

describe('generateDatabasePassword', () => {
  it('is 32 characters of A-Z, a-z and 0-9, different every time', () => {
    const passwords = new Set(Array.from({ length: 200 }, () => generateDatabasePassword()));
    expect(passwords.size).toBe(200);
    for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
  });
});
