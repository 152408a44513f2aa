import fs from 'node:fs';

/**
 * RDS needs its CA bundle to verify the server certificate. Backstage config
 * can only embed a file with `$file`, which makes the key mandatory and fails
 * with a stack trace when the file is missing. Instead the production config
 * reads `${POSTGRES_CA}`, which this fills from the file named by
 * POSTGRES_CA_FILE when it is set and readable. An unreadable file is left for
 * the config validator to report together with every other problem.
 */
export function loadDatabaseCa(env: NodeJS.ProcessEnv = process.env): void {
  const file = env.POSTGRES_CA_FILE;
  if (!file || env.POSTGRES_CA) return;
  try {
    env.POSTGRES_CA = fs.readFileSync(file, 'utf8');
  } catch {
    // Reported by the config validator with the rest.
  }
}
