/**
 * A model of what an ExternalSecret can read, end to end, used to prove
 * that one service's ExternalSecret cannot reach another service's key:
 *
 * 1. External Secrets Operator resolves `secretStoreRef`: a `SecretStore`
 *    only in the ExternalSecret's own namespace, a `ClusterSecretStore` among
 *    the cluster's stores (subject to its `conditions`, which we never
 *    create, so any reference to one fails here).
 * 2. The store authenticates as a ServiceAccount of its own namespace
 *    (`serviceAccountRef`; a namespaced store cannot name another
 *    namespace's account).
 * 3. aws: that account's IRSA role must trust the account (trust policy
 *    evaluated by {@link trustAllows}), and the role's policy and permissions
 *    boundary must allow `secretsmanager:GetSecretValue` on the secret
 *    (simulated with @cloud-copilot/iam-simulate, with the role's tags).
 *    vault: a Kubernetes auth role bound to that account and namespace, and
 *    one of its policies must grant `read` on `<kvMount>/data/<key>`
 *    (Vault's ACL path rules, {@link vaultAllows}).
 *
 * Test-only module: never import it from production code.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { trustAllows } from './iamTrust';

type Json = Record<string, any>;

/** The cloud side: IAM roles (aws) or Vault roles and policies (vault). */
export interface SecretWorld {
  /** Every Kubernetes object of the cluster that matters: stores and ServiceAccounts. */
  objects: Json[];
  /** IAM roles by ARN (aws provider). */
  iamRoles?: Record<
    string,
    {
      trustPolicy: any;
      policies: any[];
      boundary?: any;
      tags: Record<string, string>;
    }
  >;
  /** The cluster's IAM OIDC provider: issuer host path and provider ARN. */
  clusterOidc?: { issuer: string; providerArn: string };
  /** Vault Kubernetes auth roles by `<mount>/<name>`, and ACL policies by name (HCL). */
  vault?: {
    roles: Record<
      string,
      {
        bound_service_account_names: string[];
        bound_service_account_namespaces: string[];
        token_policies: string[];
      }
    >;
    policies: Record<string, string>;
  };
  awsAccountId: string;
  awsRegion: string;
}

/** Why a read was refused, or 'allowed'. */
export type SecretDecision =
  | 'allowed'
  | 'store not found'
  | 'service account not found'
  | 'role does not trust the service account'
  | 'denied by IAM'
  | 'no Vault role for the service account'
  | 'denied by Vault';

/** A Vault ACL path rule: `*` at the end is a prefix, `+` one segment. */
function vaultPathMatches(pattern: string, path: string): boolean {
  const prefix = pattern.endsWith('*');
  const body = prefix ? pattern.slice(0, -1) : pattern;
  const segments = body.split('/');
  const target = path.split('/');
  for (let i = 0; i < segments.length; i++) {
    const isLast = i === segments.length - 1;
    if (target[i] === undefined) return false;
    if (segments[i] === '+') continue;
    if (isLast && prefix) return target[i].startsWith(segments[i]);
    if (segments[i] !== target[i]) return false;
  }
  return prefix || segments.length === target.length;
}

/** The `path "..." { capabilities = [...] }` blocks of an HCL policy. */
export function parseVaultPolicy(
  hcl: string,
): Array<{ path: string; capabilities: string[] }> {
  const rules: Array<{ path: string; capabilities: string[] }> = [];
  const block = /path\s+"([^"]+)"\s*\{([^}]*)\}/g;
  for (let m = block.exec(hcl); m; m = block.exec(hcl)) {
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2]);
    rules.push({
      path: m[1],
      capabilities: caps
        ? [...caps[1].matchAll(/"([^"]+)"/g)].map(c => c[1])
        : [],
    });
  }
  return rules;
}

/**
 * Whether the policies grant `capability` on `path`. Vault picks the most
 * specific matching rule (here: the longest pattern); `deny` wins within it.
 */
export function vaultAllows(
  policies: string[],
  path: string,
  capability = 'read',
): boolean {
  const matching = policies
    .flatMap(parseVaultPolicy)
    .filter(rule => vaultPathMatches(rule.path, path))
    .sort((a, b) => b.path.length - a.path.length);
  if (matching.length === 0) return false;
  const best = matching.filter(r => r.path === matching[0].path);
  const caps = best.flatMap(r => r.capabilities);
  return !caps.includes('deny') && caps.includes(capability);
}

/** Secrets Manager adds six random characters to every secret's ARN. */
function secretArn(world: SecretWorld, name: string): string {
  return `arn:aws:secretsmanager:${world.awsRegion}:${world.awsAccountId}:secret:${name}-Ab1Cd2`;
}

async function iamAllows(
  world: SecretWorld,
  roleArn: string,
  role: NonNullable<SecretWorld['iamRoles']>[string],
  key: string,
): Promise<boolean> {
  const result = await runSimulation(
    {
      request: {
        principal: roleArn,
        action: 'secretsmanager:GetSecretValue',
        resource: { resource: secretArn(world, key), accountId: world.awsAccountId },
        contextVariables: Object.fromEntries(
          Object.entries(role.tags).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]),
        ),
      },
      identityPolicies: role.policies.map((policy, i) => ({ name: `p${i}`, policy })),
      permissionBoundaryPolicies: role.boundary
        ? [{ name: 'boundary', policy: role.boundary }]
        : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`IAM simulation failed: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult === 'Allowed';
}

/** What ESO would get for every `dataFrom.extract.key` of `externalSecret`. */
export async function externalSecretCanRead(
  world: SecretWorld,
  externalSecret: Json,
): Promise<SecretDecision> {
  const namespace: string = externalSecret.metadata.namespace;
  const ref = externalSecret.spec.secretStoreRef ?? {};
  const kind = ref.kind ?? 'SecretStore';
  const store = world.objects.find(
    o =>
      o.kind === kind &&
      o.metadata.name === ref.name &&
      // A SecretStore serves its own namespace only.
      (kind === 'ClusterSecretStore' || o.metadata.namespace === namespace),
  );
  if (!store) return 'store not found';
  if (kind === 'ClusterSecretStore') {
    // The platform creates none; a real one would need conditions.
    throw new Error('ClusterSecretStores are not modelled');
  }
  const keys: string[] = [
    ...(externalSecret.spec.dataFrom ?? []).map((d: Json) => d.extract?.key),
    ...(externalSecret.spec.data ?? []).map((d: Json) => d.remoteRef?.key),
  ].filter(Boolean);
  const provider = store.spec.provider;
  const accountRef = provider.aws?.auth?.jwt?.serviceAccountRef ??
    provider.vault?.auth?.kubernetes?.serviceAccountRef;
  const account = world.objects.find(
    o =>
      o.kind === 'ServiceAccount' &&
      o.metadata.namespace === store.metadata.namespace &&
      o.metadata.name === accountRef?.name,
  );
  if (!account) return 'service account not found';

  for (const key of keys) {
    if (provider.aws) {
      const roleArn = account.metadata.annotations?.['eks.amazonaws.com/role-arn'];
      const role = world.iamRoles?.[roleArn];
      const oidc = world.clusterOidc!;
      if (
        !role ||
        !trustAllows(role.trustPolicy, {
          provider: oidc.providerArn,
          issuer: oidc.issuer,
          claims: {
            aud: 'sts.amazonaws.com',
            sub: `system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}`,
          },
        })
      ) {
        return 'role does not trust the service account';
      }
      if (!(await iamAllows(world, roleArn, role, key))) return 'denied by IAM';
    } else if (provider.vault) {
      const { mountPath, role: roleName } = provider.vault.auth.kubernetes;
      const role = world.vault?.roles[`${mountPath}/${roleName}`];
      if (
        !role ||
        !role.bound_service_account_names.includes(account.metadata.name) ||
        !role.bound_service_account_namespaces.includes(account.metadata.namespace)
      ) {
        return 'no Vault role for the service account';
      }
      const policies = role.token_policies.map(p => world.vault!.policies[p] ?? '');
      // KV v2: ESO reads `<mount>/data/<key>`.
      if (!vaultAllows(policies, `${provider.vault.path}/data/${key}`)) {
        return 'denied by Vault';
      }
    } else {
      throw new Error('Only the aws and vault providers are modelled');
    }
  }
  return 'allowed';
}
