import { PlatformSettings } from './types';

/*
 * Where a service's secrets live and who may read them. Every service has
 * its own folder `<prefix>/<name>/` in the secret store, its own namespaced
 * SecretStore, and an identity (an IAM role, or a Vault role) allowed to
 * read that folder and nothing else. The identity is bound to one
 * ServiceAccount of one namespace, which only the platform can create.
 */

/**
 * The service's own folder in the secret store, `<prefix>/<name>/`. The
 * trailing slash matters: `pay/` is not a prefix of `pay-x/`.
 */
export function secretPathPrefix(
  settings: PlatformSettings,
  name: string,
): string {
  return `${settings.secrets.prefix}/${name}/`;
}

/**
 * Key of one of the service's secrets, `<prefix>/<name>/<item>`: `app` is
 * the app's environment (every key of it becomes an environment variable).
 */
export function secretStoreKey(
  settings: PlatformSettings,
  name: string,
  item = 'app',
): string {
  return `${secretPathPrefix(settings, name)}${item}`;
}

/** The service's SecretStore: named after the service, in its namespace. */
export function secretStoreName(name: string): string {
  return name;
}

/**
 * The ServiceAccount the secret store authenticates as (never the pods'
 * own): the secret store's identity trusts exactly this account in this
 * namespace.
 */
export function secretsServiceAccountName(name: string): string {
  return `${name}-secrets`;
}

/** IAM role the secrets ServiceAccount assumes (aws provider, EKS IRSA). */
export function secretsRoleName(name: string): string {
  return `idp-${name}-secrets`;
}

/** IAM policy of that role: read `<prefix>/<name>/*` only. */
export function secretsPolicyName(name: string): string {
  return `idp-${name}-secrets-read`;
}

/** Vault role (Kubernetes auth) and Vault policy of the service (vault provider). */
export function vaultRoleName(name: string): string {
  return `idp-${name}`;
}

/** How long a Vault token issued to the secret store lives. */
export const VAULT_TOKEN_TTL = '1h';

/** The Vault side of a service's secrets (vault provider). */
export interface VaultAccess {
  /** ACL policy name (`sys/policies/acl/<name>`). */
  policyName: string;
  /** The policy in HCL. */
  policy: string;
  /** The Kubernetes auth role (`auth/<mount>/role/<name>`). */
  role: {
    mount: string;
    name: string;
    bound_service_account_names: string[];
    bound_service_account_namespaces: string[];
    token_policies: string[];
    token_ttl: string;
    token_max_ttl: string;
  };
}

/**
 * The Vault policy and Kubernetes auth role of a service: the role admits
 * only the service's secrets ServiceAccount in its namespace, and its
 * policy reads KV v2 data under `<kvMount>/data/<prefix>/<name>/` only.
 * Undefined unless the provider is vault.
 */
export function renderVaultAccess(
  settings: PlatformSettings,
  name: string,
): VaultAccess | undefined {
  const { vault } = settings.secrets;
  if (settings.secrets.provider !== 'vault') return undefined;
  if (!vault) {
    throw new Error(
      'goldenPath.secrets.vault is missing: the vault provider needs its server, kvMount and authMount',
    );
  }
  const role = vaultRoleName(name);
  const dataPath = `${vault.kvMount}/data/${secretPathPrefix(settings, name)}*`;
  return {
    policyName: role,
    policy: [
      `# ${name}: read its own secrets, nothing else (managed by the platform).`,
      `path "${dataPath}" {`,
      '  capabilities = ["read"]',
      '}',
      '',
    ].join('\n'),
    role: {
      mount: vault.authMount,
      name: role,
      bound_service_account_names: [secretsServiceAccountName(name)],
      bound_service_account_namespaces: [name],
      token_policies: [role],
      token_ttl: VAULT_TOKEN_TTL,
      token_max_ttl: VAULT_TOKEN_TTL,
    },
  };
}
