import fs from 'node:fs';
import net from 'node:net';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { FaultRule } from '@internal/sandbox';
import { Client } from 'pg';
import yaml from 'yaml';
import { ADMIN_CONNECTION, ensurePostgresTls } from '../__testUtils__/postgresTls';
import { Portal, sandboxResourcesFor, startPortal } from '../__testUtils__/portal';

/**
 * End to end with a database (issue 12): the real backend runs both golden
 * paths with "Needs a PostgreSQL database" against the sandbox and the
 * machine's real PostgreSQL, over verified TLS (the test CA of
 * ensurePostgresTls). Every database and role name starts with a prefix
 * unique to this run; afterAll drops what is left.
 *
 * What this server cannot show: its pg_hba.conf trusts 127.0.0.1 and
 * accepts clear text, and we may not change it. So "only over TLS" is shown
 * from the client side (DATABASE_URL's sslmode=verify-full never falls back
 * to clear text, and its connections are TLS in pg_stat_ssl), and passwords
 * are checked against the stored SCRAM verifier rather than by the server.
 * In production RDS enforces both (rds.force_ssl=1, scram-sha-256).
 */
jest.setTimeout(20 * 60_000);

const run = randomBytes(3).toString('hex');
const prefix = `e2e${run}_`;
let portal: Portal;
let caFile: string;

async function sql(text: string, values: unknown[] = [], config: Record<string, unknown> = {}) {
  const client = new Client({ ...ADMIN_CONNECTION, database: 'postgres', ...config });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

const form = (name: string) => ({
  name,
  owner: 'group:default/team-payments',
  description: 'Keeps orders in PostgreSQL',
  port: 3000,
  replicas: 2,
  database: true,
});

const identifier = (name: string) => `${prefix}${name.replace(/-/g, '_')}`;

async function created(name: string, template = 'template:default/nodejs-service') {
  const task = await portal.waitForTask(await portal.createService(form(name), template), 300_000);
  if (task.status !== 'completed') {
    throw new Error(`task ${task.status}: ${task.message}\n${task.log.join('\n')}`);
  }
  return task;
}

/** A file of a repository in the sandbox GitLab, through its API. */
async function repoFile(project: string, file: string): Promise<string> {
  const res = await fetch(
    `${portal.sandbox.urls.gitlab}/api/v4/projects/${encodeURIComponent(project)}/repository/files/${encodeURIComponent(file)}/raw?ref=main`,
    { headers: { 'PRIVATE-TOKEN': 'sandbox-token' } },
  );
  if (!res.ok) throw new Error(`${project}:${file}: ${res.status}`);
  return res.text();
}

/** What the sandbox's Secrets Manager holds for the service (its JSON 1.1 API). */
async function storedSecret(name: string): Promise<Record<string, string>> {
  const res = await fetch(portal.sandbox.urls.aws, {
    method: 'POST',
    headers: {
      'x-amz-target': 'secretsmanager.GetSecretValue',
      'content-type': 'application/x-amz-json-1.1',
    },
    body: JSON.stringify({ SecretId: `idp/${name}/database` }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`GetSecretValue: ${res.status} ${body.message ?? body.Message}`);
  return JSON.parse(body.SecretString);
}

/**
 * Whether PostgreSQL would accept `password` for a role whose pg_authid
 * entry is `verifier`: the server's own SCRAM-SHA-256 check (RFC 5802),
 * written out here independently of the platform's code.
 */
function passwordMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  const salted = pbkdf2Sync(password, Buffer.from(m[2], 'base64'), Number(m[1]), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return storedKey === m[3] && serverKey === m[4];
}

/**
 * DATABASE_URL as the pod gets it: the ExternalSecret's template with the
 * stored password, and the CA file at the path the Deployment mounts it
 * (here: the test CA's file).
 */
async function databaseUrlOf(name: string): Promise<string> {
  const es = yaml.parse(
    await repoFile(`platform/gitops/${name}-gitops`, 'manifests/externalsecret-database.yaml'),
  );
  const template: string = es.spec.target.template.data.DATABASE_URL;
  const { password } = await storedSecret(name);
  return template
    .replace('{{ .password }}', password)
    .replace('/etc/golden-path/database/ca.crt', caFile);
}

async function connectWith(url: string, database?: string) {
  const u = new URL(url);
  if (database) u.pathname = `/${database}`;
  const client = new Client({ connectionString: u.toString() });
  client.on('error', () => {});
  try {
    await client.connect();
    return { client, error: undefined };
  } catch (error) {
    await client.end().catch(() => {});
    return { client: undefined, error: error as Error & { code?: string } };
  }
}

beforeAll(async () => {
  caFile = await ensurePostgresTls();
  portal = await startPortal({
    config: {
      goldenPath: {
        database: {
          host: '127.0.0.1',
          port: 5432,
          sslMode: 'verify-full',
          caCertificate: fs.readFileSync(caFile, 'utf8'),
          namePrefix: prefix,
          admin: { user: 'postgres' },
        },
        grafana: { baseUrl: 'https://grafana.example.test' },
      },
    },
  });
});

afterAll(async () => {
  await portal?.close();
  for (const { datname } of await sql('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`])) {
    await sql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  for (const { rolname } of await sql('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`${prefix}%`])) {
    await sql(`DROP ROLE IF EXISTS "${rolname}"`);
  }
});

afterEach(async () => {
  await fetch(`${portal.sandbox.urls.gitlab}/__admin/faults`, { method: 'DELETE' });
});

describe('a service with a database, end to end', () => {
  const orders = `orders-${run}`;
  const billing = `billing-${run}`;

  beforeAll(async () => {
    // One service per golden path: both templates offer the option.
    await created(orders, 'template:default/nodejs-service');
    await created(billing, 'template:default/python-service');
  });

  it('made a login role with no other right, owning its own database', async () => {
    for (const name of [orders, billing]) {
      const [role] = await sql(
        'SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1',
        [identifier(name)],
      );
      expect(role).toEqual({
        rolcanlogin: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolinherit: false,
        rolreplication: false,
        rolbypassrls: false,
      });
      const [db] = await sql(
        "SELECT r.rolname AS owner, has_database_privilege('public', d.datname, 'CONNECT') AS public_connect FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1",
        [identifier(name)],
      );
      expect(db).toEqual({ owner: identifier(name), public_connect: false });
    }
  });

  it('keeps the password in the sandbox Secrets Manager, and it is the role’s password', async () => {
    const stored = await storedSecret(orders);
    expect(stored).toMatchObject({
      engine: 'postgres',
      host: '127.0.0.1',
      port: '5432',
      dbname: identifier(orders),
      username: identifier(orders),
    });
    expect(stored.password).toMatch(/^[A-Za-z0-9]{32}$/);
    const [{ rolpassword }] = await sql('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [identifier(orders)]);
    expect(passwordMatches(rolpassword, stored.password)).toBe(true);
    expect(passwordMatches(rolpassword, `${stored.password}x`)).toBe(false);
  });

  it('delivers DATABASE_URL through an ExternalSecret of its own SecretStore, and the pods read it', async () => {
    const gitops = `platform/gitops/${orders}-gitops`;
    const es = yaml.parse(await repoFile(gitops, 'manifests/externalsecret-database.yaml'));
    expect(es.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: orders });
    expect(es.spec.data).toEqual([
      { secretKey: 'password', remoteRef: { key: `idp/${orders}/database`, property: 'password' } },
    ]);
    expect(es.spec.target.template.data.DATABASE_URL).toBe(
      `postgresql://${identifier(orders)}:{{ .password }}@127.0.0.1:5432/${identifier(orders)}?sslmode=verify-full&sslrootcert=/etc/golden-path/database/ca.crt`,
    );
    const deployment = yaml.parse(await repoFile(gitops, 'manifests/deployment.yaml'));
    expect(deployment.spec.template.spec.containers[0].envFrom).toContainEqual({
      secretRef: { name: `${orders}-database` },
    });
    const ca = yaml.parse(await repoFile(gitops, 'manifests/configmap-database-ca.yaml'));
    expect(ca.data['ca.crt']).toBe(fs.readFileSync(caFile, 'utf8'));
  });

  it('lets the role connect to its own database over verified TLS', async () => {
    const { client, error } = await connectWith(await databaseUrlOf(orders));
    expect(error).toBeUndefined();
    const { rows } = await client!.query(
      'SELECT current_user AS who, current_database() AS db, s.ssl, s.version FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()',
    );
    await client!.query('CREATE TABLE orders (id serial PRIMARY KEY)');
    await client!.end();
    expect(rows[0]).toEqual({
      who: identifier(orders),
      db: identifier(orders),
      ssl: true,
      version: expect.stringMatching(/^TLSv1\.[23]$/),
    });
  });

  it('never falls back to clear text: DATABASE_URL refuses a server without TLS', async () => {
    // A server that answers "no TLS here" ('N') to the SSLRequest.
    const plain = net.createServer(socket => socket.once('data', () => socket.end('N')));
    await new Promise<void>(r => plain.listen(0, '127.0.0.1', r));
    try {
      const url = new URL(await databaseUrlOf(orders));
      url.port = String((plain.address() as net.AddressInfo).port);
      const { error } = await connectWith(url.toString());
      expect(error?.message).toMatch(/does not support SSL/);
    } finally {
      plain.close();
    }
  });

  it("refuses each service's role on the other's database", async () => {
    const a = await connectWith(await databaseUrlOf(orders), identifier(billing));
    const b = await connectWith(await databaseUrlOf(billing), identifier(orders));
    for (const attempt of [a, b]) {
      expect(attempt.error?.code).toBe('42501');
      expect(attempt.error?.message).toMatch(/permission denied for database/);
    }
  });

  it("links the service's Grafana dashboard from its catalog entity", async () => {
    const res = await portal.api(`/api/catalog/entities/by-name/component/default/${orders}`);
    expect(res.status).toBe(200);
    const entity = await res.json();
    expect(entity.metadata.links).toContainEqual({
      url: `https://grafana.example.test/d/${orders}`,
      title: 'Grafana dashboard',
      type: 'dashboard',
      icon: 'dashboard',
    });
  });
});

describe('the name check and rollback with a database', () => {
  it('refuses a name whose database exists, before creating anything', async () => {
    const name = `taken-${run}`;
    await sql(`CREATE DATABASE "${identifier(name)}"`);
    const task = await portal.waitForTask(await portal.createService(form(name)));
    expect(task.status).toBe('failed');
    expect(task.message).toContain(
      `Service name "${name}" is already taken: PostgreSQL database ${identifier(name)}`,
    );
    expect(await sandboxResourcesFor(portal.sandbox, name)).toEqual([]);
    expect(await sql('SELECT 1 FROM pg_roles WHERE rolname = $1', [identifier(name)])).toEqual([]);
  });

  it.each([
    // 403: no client retries it, so the fault really fails the step.
    ['the secret cannot be stored', { service: 'aws', operation: 'secretsmanager.CreateSecret', status: 403 }],
    ['the ArgoCD application fails', { service: 'argocd', operation: 'POST /api/v1/applications', status: 403 }],
  ] as Array<[string, FaultRule]>)(
    'rolls back the database and the role when %s',
    async (_what, rule) => {
      const name = `fault-${run}-${rule.service}`;
      await fetch(`${portal.sandbox.urls.gitlab}/__admin/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rules: [{ ...rule, match: name }] }),
      });
      const task = await portal.waitForTask(await portal.createService(form(name)));
      expect(task.status).toBe('failed');
      expect(task.message).toMatch(/Rolled back: /);
      // The database steps had run: they are among what was rolled back.
      expect(task.message).toContain(`PostgreSQL role ${identifier(name)}`);
      expect(task.message).toContain(`PostgreSQL database ${identifier(name)}`);
      const { operations } = await (await fetch(`${portal.sandbox.urls.gitlab}/__admin/log`)).json();
      expect(operations).toContain(`${rule.service} ${rule.operation}`);
      expect(await sql('SELECT 1 FROM pg_roles WHERE rolname = $1', [identifier(name)])).toEqual([]);
      expect(await sql('SELECT 1 FROM pg_database WHERE datname = $1', [identifier(name)])).toEqual([]);
      expect(await sandboxResourcesFor(portal.sandbox, name)).toEqual([]);
      await expect(storedSecret(name)).rejects.toThrow(/can't find the specified secret/);
    },
  );
});
