import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

/** Admin connection to the machine's PostgreSQL (trust auth, see ENVIRONMENT). */
export const ADMIN_CONNECTION = {
  host: '127.0.0.1',
  port: 5432,
  user: 'postgres',
};

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(ADMIN_CONNECTION);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const openssl = (args: string[]) =>
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * Makes the local PostgreSQL serve TLS with a certificate for `localhost`
 * signed by a test CA, so the production database settings (ssl.require,
 * rejectUnauthorized, CA file) are exercised for real. Idempotent: the
 * certificates live in the server's data directory and are reused.
 *
 * Returns the CA certificate's path for POSTGRES_CA_FILE.
 */
export async function ensurePostgresTls(): Promise<string> {
  return withAdmin(async client => {
    const dataDir = (await client.query('SHOW data_directory')).rows[0]
      .data_directory as string;
    const dir = path.join(dataDir, 'golden-path-idp-test-tls');
    const caCert = path.join(dir, 'ca.crt');
    const serverCert = path.join(dir, 'server.crt');
    const serverKey = path.join(dir, 'server.key');

    if (!fs.existsSync(serverKey)) {
      fs.mkdirSync(dir, { recursive: true });
      const ext = path.join(dir, 'san.ext');
      fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650',
        '-keyout', path.join(dir, 'ca.key'), '-out', caCert,
        '-subj', '/CN=golden-path-idp test CA']);
      openssl(['req', '-newkey', 'rsa:2048', '-nodes',
        '-keyout', serverKey, '-out', path.join(dir, 'server.csr'), '-subj', '/CN=localhost']);
      openssl(['x509', '-req', '-days', '3650', '-in', path.join(dir, 'server.csr'),
        '-CA', caCert, '-CAkey', path.join(dir, 'ca.key'), '-CAcreateserial',
        '-out', serverCert, '-extfile', ext]);
      // PostgreSQL refuses a key readable by others.
      fs.chmodSync(serverKey, 0o600);
      execFileSync('chown', ['-R', 'postgres:postgres', dir]);
    }

    const current = (await client.query('SHOW ssl_cert_file')).rows[0].ssl_cert_file;
    const on = (await client.query('SHOW ssl')).rows[0].ssl === 'on';
    if (!on || current !== serverCert) {
      await client.query(`ALTER SYSTEM SET ssl_cert_file = '${serverCert}'`);
      await client.query(`ALTER SYSTEM SET ssl_key_file = '${serverKey}'`);
      await client.query('ALTER SYSTEM SET ssl = on');
      await client.query('SELECT pg_reload_conf()');
    }
    return caCert;
  });
}

/** Drops every database whose name starts with `prefix`. */
export async function dropDatabases(prefix: string): Promise<void> {
  await withAdmin(async client => {
    const { rows } = await client.query(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${prefix}%`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  });
}
