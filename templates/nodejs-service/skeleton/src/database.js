'use strict';

const { Pool } = require('pg');

/**
 * Removes the connection URL, and the password in it, from a message, so
 * that error messages can be logged without leaking credentials.
 */
function redact(message, url) {
  let text = String(message);
  const secrets = [url];
  try {
    const { password } = new URL(url);
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL: only the string itself is removed.
  }
  for (const secret of secrets) {
    if (secret) text = text.split(secret).join('***');
  }
  return text;
}

/**
 * The service's PostgreSQL database, when DATABASE_URL is set (the platform
 * sets postgresql://user:password@host:5432/db?sslmode=verify-full, with
 * sslrootcert=<CA file> when its CA is not a public one; node-postgres reads
 * both from the URL); undefined
 * otherwise. `check()` runs `SELECT 1` and rejects when the database cannot
 * answer within `timeoutMs`; `close()` ends the connection pool. Use
 * `pool.query()` for your own queries.
 */
function createDatabase({
  url = process.env.DATABASE_URL,
  timeoutMs = 2000,
  logger,
} = {}) {
  if (!url) return undefined;

  const pool = new Pool({
    connectionString: url,
    max: 5,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30000,
  });
  // An idle connection that breaks (database restart, network) is reported
  // here; without a listener it would crash the process.
  pool.on('error', err => {
    logger?.warn('database connection lost', {
      error: redact(err.message, url),
    });
  });

  async function check() {
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      throw new Error(redact(err.message, url));
    }
  }

  return { pool, check, close: () => pool.end() };
}

module.exports = { createDatabase, redact };
