/**
 * The ports of a service's database: the platform's PostgreSQL admin login
 * and the store its password goes to. Implemented by PostgresAdminClient,
 * SecretsManagerStore and VaultKvStore; faked in tests.
 */

/** A login role as the steps need it. */
export interface PostgresRole {
  name: string;
  /** `COMMENT ON ROLE` as JSON (our marker); `{}` when absent or not ours. */
  comment: Record<string, string>;
  login: boolean;
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  inherit: boolean;
}

/** A database as the steps need it. */
export interface PostgresDatabase {
  name: string;
  owner: string;
  /** `COMMENT ON DATABASE` as JSON (our marker); `{}` when absent or not ours. */
  comment: Record<string, string>;
  /** The owner role's comment: recognises a database whose own comment a crash prevented. */
  ownerComment: Record<string, string>;
}

export interface PostgresAdminApi {
  findRole(name: string): Promise<PostgresRole | undefined>;
  /**
   * Creates a LOGIN role with no other attribute (NOSUPERUSER, NOCREATEDB,
   * NOCREATEROLE, NOINHERIT, NOREPLICATION, NOBYPASSRLS) and no password,
   * with `comment`, in one transaction. ConflictError if it exists.
   */
  createRole(name: string, comment: Record<string, string>): Promise<void>;
  /** Replaces the role's password (sent as a SCRAM verifier). */
  setRolePassword(name: string, password: string): Promise<void>;
  /** Ends the role's sessions and drops it. Missing = done. */
  dropRole(name: string): Promise<void>;
  findDatabase(name: string): Promise<PostgresDatabase | undefined>;
  /**
   * Creates the database (as the admin, with `comment`), then
   * {@link completeDatabase} hands it to `owner`. ConflictError if it exists.
   */
  createDatabase(
    name: string,
    owner: string,
    comment: Record<string, string>,
  ): Promise<void>;
  /**
   * Idempotent: sets the comment, revokes CONNECT and TEMP on the database
   * from PUBLIC, gives its schema public to `owner` and revokes everything
   * on it from PUBLIC, and makes `owner` the database's owner.
   */
  completeDatabase(
    name: string,
    owner: string,
    comment: Record<string, string>,
  ): Promise<void>;
  /** Ends its sessions and drops it. Missing = done. */
  dropDatabase(name: string): Promise<void>;
}

/** A secret as the steps need it: its path and our marker. */
export interface StoredSecret {
  /** Path (Secrets Manager name, Vault KV path), e.g. `idp/payments-api/database`. */
  path: string;
  /** Tags (Secrets Manager) or custom metadata (Vault KV). */
  tags: Record<string, string>;
}

/** The secret store services read through their SecretStore (see issue 11). */
export interface SecretWriterApi {
  /** Which store this writes to, for messages. */
  readonly kind: 'AWS Secrets Manager' | 'Vault';
  findSecret(path: string): Promise<StoredSecret | undefined>;
  /**
   * Creates the secret with `tags`, or stores a new value when it exists.
   * `data` is key/value (Secrets Manager: one JSON string; Vault: KV data),
   * so an ExternalSecret reads a key as `property`.
   */
  putSecret(
    path: string,
    data: Record<string, string>,
    tags: Record<string, string>,
  ): Promise<void>;
  /** Deletes it at once, with no recovery window, so the path can be reused. Missing = done. */
  deleteSecret(path: string): Promise<void>;
}

/** What the database steps act through: both or neither exist. */
export interface DatabaseClients {
  admin: PostgresAdminApi;
  secrets: SecretWriterApi;
}
