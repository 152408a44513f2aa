import { SERVICE_NAME_MAX_LENGTH } from '@internal/plugin-golden-path-common';
import { z } from 'zod';

/**
 * `goldenPath.database` and `goldenPath.grafana`: declared here, wired into
 * the one `goldenPath` schema in config.ts. Both sections are optional: a
 * platform without a database server refuses the form's database option
 * with a clear message, and catalog entities get no dashboard link without
 * a Grafana URL.
 */

/** PostgreSQL identifiers are at most 63 bytes (NAMEDATALEN - 1). */
export const POSTGRES_IDENTIFIER_MAX_LENGTH = 63;

/** Longest name prefix that still fits every service name into an identifier. */
export const DATABASE_NAME_PREFIX_MAX_LENGTH =
  POSTGRES_IDENTIFIER_MAX_LENGTH - SERVICE_NAME_MAX_LENGTH;

/** TLS modes a service's DATABASE_URL may use, as libpq names them. */
export const DATABASE_SSL_MODES = ['verify-full', 'verify-ca', 'require'] as const;
export type DatabaseSslMode = (typeof DATABASE_SSL_MODES)[number];

const cidr = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR');

/** Shape of `goldenPath.database` (strict, like the rest of `goldenPath`). */
export const databaseConfigSchema = z
  .object({
    /** Host services connect to (and the platform, to create roles and databases). */
    host: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i,
        'must be a host name or IPv4 address without scheme or port',
      ),
    port: z.number().int().min(1).max(65535).optional(),
    /** TLS of every connection: the platform's and the services' (DATABASE_URL). Default verify-full. */
    sslMode: z.enum(DATABASE_SSL_MODES).optional(),
    /**
     * PEM of the CA that signed the server certificate, when it is not a
     * public one (RDS: the region's bundle). Delivered to services as a file.
     */
    caCertificate: z.string().optional(),
    /** Prefix of every service's database and role name. Default svc_. */
    namePrefix: z
      .string()
      .regex(
        new RegExp(
          `^[a-z][a-z0-9_]{0,${DATABASE_NAME_PREFIX_MAX_LENGTH - 1}}$`,
        ),
        `must be 1-${DATABASE_NAME_PREFIX_MAX_LENGTH} characters of a-z, 0-9 and "_", starting with a letter`,
      )
      .refine(p => !p.startsWith('pg_'), 'must not start with "pg_" (PostgreSQL reserves it)')
      .optional(),
    /** Where the server's addresses lie, for the services' egress NetworkPolicy. */
    networkCidrs: z.array(cidr).min(1).optional(),
    /** The platform's own login: it creates roles and databases (CREATEROLE, CREATEDB). */
    admin: z
      .object({
        user: z.string().min(1),
        password: z.string().optional(),
        /** Database the admin connects to. Default postgres. */
        database: z.string().optional(),
      })
      .strict(),
  })
  .strict();

/** Shape of `goldenPath.grafana`. */
export const grafanaConfigSchema = z
  .object({
    /** Grafana's browser URL; a service's dashboard is `<baseUrl>/d/<service>`. Unset: no link. */
    baseUrl: z
      .string()
      .regex(/^https?:\/\/[^\s/]+/, 'must be an http(s) URL')
      .optional(),
  })
  .strict();

/** What the render layer needs to know about the platform's PostgreSQL. No secrets. */
export interface PlatformDatabaseSettings {
  host: string;
  port: number;
  sslMode: DatabaseSslMode;
  /** PEM, when services must be told which CA to trust. */
  caCertificate?: string;
  /** Prefix of database and role names. */
  namePrefix: string;
  /** CIDRs the egress NetworkPolicy allows on `port` (see render/database.ts). */
  networkCidrs?: string[];
}

/** The platform's admin connection (has the password). */
export interface DatabaseAdminConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  sslMode: DatabaseSslMode;
  caCertificate?: string;
}

type DatabaseConfig = z.infer<typeof databaseConfigSchema>;

/** The render layer's view of `goldenPath.database`, or undefined without one. */
export function platformDatabaseSettings(
  db: DatabaseConfig | undefined,
): PlatformDatabaseSettings | undefined {
  if (!db) return undefined;
  return {
    host: db.host,
    port: db.port ?? 5432,
    sslMode: db.sslMode ?? 'verify-full',
    caCertificate: db.caCertificate?.trim() ? db.caCertificate : undefined,
    namePrefix: db.namePrefix ?? 'svc_',
    networkCidrs: db.networkCidrs,
  };
}

/** The admin connection of `goldenPath.database`, or undefined without one. */
export function databaseAdminConnection(
  db: DatabaseConfig | undefined,
): DatabaseAdminConnection | undefined {
  const platform = platformDatabaseSettings(db);
  if (!db || !platform) return undefined;
  return {
    host: platform.host,
    port: platform.port,
    user: db.admin.user,
    password: db.admin.password,
    database: db.admin.database ?? 'postgres',
    sslMode: platform.sslMode,
    caCertificate: platform.caCertificate,
  };
}

/** `<baseUrl>` without trailing slashes, or undefined. */
export function grafanaBaseUrl(
  grafana: z.infer<typeof grafanaConfigSchema> | undefined,
): string | undefined {
  return grafana?.baseUrl?.trim().replace(/\/+$/, '') || undefined;
}
