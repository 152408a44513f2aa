import { Config } from '@backstage/config';
import {
  ROLES_KEY,
  goldenPathConfigSchema,
  requiredGoldenPathKeys,
  rolesConfigProblems,
} from '@internal/plugin-golden-path-node';
import { ConfigProblem } from './problems';

/** Which rule set applies: local development or a real deployment. */
export type ValidationMode = 'local' | 'production';

/** Everything outside the config that validation looks at, injectable for tests. */
export interface ValidationContext {
  mode: ValidationMode;
  /** Environment variables (only `POSTGRES_CA_FILE` is read). */
  env?: Record<string, string | undefined>;
  /** Returns an error message if the file cannot be read, undefined if it can. */
  checkReadable?: (path: string) => string | undefined;
}

/**
 * The production rules outside our own section: key, the environment
 * variable that usually sets it, and what the key is for (used in the
 * "missing" message). Our `goldenPath` keys come from their declaration in
 * @internal/plugin-golden-path-node, which the settings reader uses too.
 */
const REQUIRED_OUTSIDE_GOLDEN_PATH: Array<
  [key: string, envVar: string, what: string]
> = [
  ['app.baseUrl', 'APP_BASE_URL', 'the public URL of the portal'],
  ['backend.baseUrl', 'BACKEND_BASE_URL', 'the public URL of the backend'],
  ['backend.database.connection.host', 'POSTGRES_HOST', 'the PostgreSQL host'],
  ['backend.database.connection.user', 'POSTGRES_USER', 'the PostgreSQL user'],
  [
    'backend.database.connection.password',
    'POSTGRES_PASSWORD',
    'the PostgreSQL password',
  ],
];

function isSet(config: Config, key: string): boolean {
  try {
    const value = config.getOptional(key);
    if (Array.isArray(value)) return value.length > 0;
    return value !== undefined && value !== null && value !== '';
  } catch {
    return false;
  }
}

/** Reads a string, treating a wrong type as absent (the shape check reports it). */
function str(config: Config, key: string): string | undefined {
  const value = config.getOptional(key);
  return typeof value === 'string' ? value : undefined;
}

function isLocalhost(url: string | undefined): boolean {
  return !!url && /^https?:\/\/(localhost|127\.|\[::1\])/.test(url);
}

/** Type and unknown-key problems in our own `goldenPath` section. */
function goldenPathShapeProblems(config: Config): ConfigProblem[] {
  const raw = config.getOptional('goldenPath');
  if (raw === undefined) return [];
  const result = goldenPathConfigSchema.safeParse(raw);
  if (result.success) return [];
  return result.error.issues
    .map(issue => {
      const path = ['goldenPath', ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map(k => ({
          key: [...path, k].join('.'),
          message:
            'is not a known key; check the spelling against config.d.ts of the golden-path module',
        }));
      }
      return [{ key: path.join('.'), message: issue.message }];
    })
    .flat();
}

/**
 * The PostgreSQL server services get their databases on
 * (`goldenPath.database`, optional): in production their connections must
 * verify the server, the admin login needs its password, and the services'
 * egress NetworkPolicy needs the server's subnets.
 */
function serviceDatabaseProblems(config: Config): ConfigProblem[] {
  if (config.getOptional('goldenPath.database') === undefined) return [];
  const problems: ConfigProblem[] = [];
  const sslMode = str(config, 'goldenPath.database.sslMode') ?? 'verify-full';
  if (sslMode !== 'verify-full') {
    problems.push({
      key: 'goldenPath.database.sslMode',
      message: `is "${sslMode}": in production services must verify the database server's certificate and name (verify-full)`,
    });
  }
  if (!isSet(config, 'goldenPath.database.admin.password')) {
    problems.push({
      key: 'goldenPath.database.admin.password',
      message: "is missing: the password of the platform's database admin login",
      envVar: 'DATABASE_ADMIN_PASSWORD',
    });
  }
  if (!isSet(config, 'goldenPath.database.networkCidrs')) {
    problems.push({
      key: 'goldenPath.database.networkCidrs',
      message: "is missing: the database server's subnets; without them a service's egress policy opens the database port to every address",
    });
  }
  const host = str(config, 'goldenPath.database.host');
  if (host && /^(localhost|127\.|::1$)/.test(host)) {
    problems.push({
      key: 'goldenPath.database.host',
      message: 'points at localhost; services cannot reach it there',
    });
  }
  return problems;
}

/** `10.0.0.0/16` → [first address as a number, prefix length]. */
function parseCidr(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const bits = Number(m[5]);
  const ip = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  return [Math.floor(ip / size) * size, bits];
}

/** Whether CIDR `outer` contains all of CIDR `inner`. */
function cidrContains(outer: [number, number], inner: [number, number]): boolean {
  const size = 2 ** (32 - outer[1]);
  return outer[1] <= inner[1] && Math.floor(inner[0] / size) * size === outer[0];
}

/** Widest load-balancer subnet accepted: an ALB subnet is a /20 or smaller. */
const WIDEST_LOAD_BALANCER_PREFIX = 20;

/**
 * Network and secrets rules that hold everywhere: the load balancer's
 * sources are its subnets (with the AWS VPC CNI every pod has a VPC address,
 * so the VPC or a wide range would let every pod in), the egress allowlist
 * does not reopen everything, and the vault provider has its server.
 */
function networkAndSecretsProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const lbKey = 'goldenPath.ingress.loadBalancerSourceCidrs';
  const raw = config.getOptional(lbKey);
  const list: unknown[] = typeof raw === 'string' ? raw.split(',') : [raw ?? []].flat();
  const cidrs = list
    .map(c => String(c).trim())
    .filter(Boolean);
  const vpc = parseCidr(str(config, 'goldenPath.network.vpcCidr') ?? '');
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (!parsed) continue; // the shape check reports it
    if (vpc && cidrContains(parsed, vpc)) {
      problems.push({
        key: lbKey,
        message: `contains ${cidr}, which covers the whole VPC (${str(config, 'goldenPath.network.vpcCidr')}): every pod has a VPC address; list the ALB's subnets`,
        envVar: 'ALB_SUBNET_CIDRS',
      });
    } else if (parsed[1] < WIDEST_LOAD_BALANCER_PREFIX) {
      problems.push({
        key: lbKey,
        message: `contains ${cidr}, wider than /${WIDEST_LOAD_BALANCER_PREFIX}: list the ALB's subnets, not the VPC`,
        envVar: 'ALB_SUBNET_CIDRS',
      });
    }
  }
  const allowed = config.getOptional('goldenPath.network.egressAllowedCidrs');
  for (const cidr of Array.isArray(allowed) ? allowed : []) {
    if (parseCidr(String(cidr))?.[1] === 0) {
      problems.push({
        key: 'goldenPath.network.egressAllowedCidrs',
        message: `contains ${cidr}, which reopens HTTPS egress to every address, the VPC and the instance metadata service included`,
      });
    }
  }
  if (
    str(config, 'goldenPath.secrets.provider') === 'vault' &&
    !isSet(config, 'goldenPath.secrets.vault.server')
  ) {
    problems.push({
      key: 'goldenPath.secrets.vault.server',
      message: "is missing: the vault secrets provider needs Vault's URL",
      envVar: 'VAULT_ADDR',
    });
  }
  return problems;
}

function productionProblems(
  config: Config,
  ctx: ValidationContext,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (key: string, message: string, envVar?: string) =>
    problems.push({ key, message, envVar });

  // Sign-in: GitHub or OIDC, never the local providers.
  for (const local of ['auth.providers.guest', 'auth.providers.localUsers']) {
    if (config.has(local)) {
      add(local, 'must not be enabled in production (local sign-in); remove the key');
    }
  }
  if (config.getOptional('goldenPath.local') !== undefined) {
    add('goldenPath.local', 'marks a local portal; remove it from the production config');
  }
  const authEnv = str(config, 'auth.environment') ?? 'development';
  const signIn = str(config, 'goldenPath.signIn');
  if (signIn !== 'github' && signIn !== 'oidc') {
    add(
      'goldenPath.signIn',
      `is "${signIn ?? ''}": production signs in with "github" or "oidc"`,
      'SIGN_IN',
    );
  }
  // GitHub is the production default: its keys are checked unless OIDC is chosen.
  if (signIn !== 'oidc') {
    const github = `auth.providers.github.${authEnv}`;
    for (const [key, envVar] of [
      ['clientId', 'AUTH_GITHUB_CLIENT_ID'],
      ['clientSecret', 'AUTH_GITHUB_CLIENT_SECRET'],
    ]) {
      if (!isSet(config, `${github}.${key}`)) {
        add(`${github}.${key}`, 'is missing: GitHub OAuth is the sign-in provider (goldenPath.signIn: github)', envVar);
      }
    }
    // Users and teams come from the GitHub organisation; sign-in admits only
    // users the catalog knows, i.e. members of that organisation.
    const orgs = config.getOptionalConfig('catalog.providers.githubOrg');
    if (!orgs) {
      add(
        'catalog.providers.githubOrg',
        'is missing: users and teams come from the GitHub organisation (githubUrl, orgs, schedule)',
        'GITHUB_ORG',
      );
    }
  } else {
    const oidc = `auth.providers.oidc.${authEnv}`;
    for (const [key, envVar] of [
      ['metadataUrl', 'AUTH_OIDC_METADATA_URL'],
      ['clientId', 'AUTH_OIDC_CLIENT_ID'],
      ['clientSecret', 'AUTH_OIDC_CLIENT_SECRET'],
    ]) {
      if (!isSet(config, `${oidc}.${key}`)) {
        add(`${oidc}.${key}`, 'is missing: OIDC (e.g. Keycloak) is the sign-in provider (goldenPath.signIn: oidc)', envVar);
      }
    }
  }

  // Static-secret access for automation is optional; when set, it must be
  // strong and limited to the plugins that need it.
  const externalAccess =
    config.getOptionalConfigArray('backend.auth.externalAccess') ?? [];
  externalAccess.forEach((entry, i) => {
    const key = `backend.auth.externalAccess[${i}]`;
    if (entry.getOptionalString('type') === 'legacy') {
      const secret = entry.getOptionalString('options.secret') ?? '';
      if (secret.length < 24) {
        add(
          `${key}.options.secret`,
          "is shorter than 24 characters; generate one with `node -p \"require('crypto').randomBytes(24).toString('base64')\"`",
          'BACKEND_SECRET',
        );
      }
    }
    if (!entry.getOptionalConfigArray('accessRestrictions')?.length) {
      add(
        `${key}.accessRestrictions`,
        'is missing: restrict the static secret to the plugins it needs, e.g. [{ plugin: catalog }]',
      );
    }
  });

  // PostgreSQL with the SSL settings RDS requires.
  const client = str(config, 'backend.database.client');
  if (client !== 'pg') {
    add(
      'backend.database.client',
      `is "${client ?? ''}"; production uses PostgreSQL ("pg")`,
    );
  } else {
    if (
      config.getOptional('backend.database.connection.ssl.require') !== true
    ) {
      add(
        'backend.database.connection.ssl.require',
        'must be true: RDS requires TLS',
      );
    }
    if (
      config.getOptional(
        'backend.database.connection.ssl.rejectUnauthorized',
      ) !== true
    ) {
      add(
        'backend.database.connection.ssl.rejectUnauthorized',
        'must be true so the server certificate is verified',
      );
    }
  }
  // Plugins get a database each (Backstage's default) or a schema each.
  const division = config.getOptional('backend.database.pluginDivisionMode');
  if (division !== undefined && division !== 'database' && division !== 'schema') {
    add(
      'backend.database.pluginDivisionMode',
      `is ${JSON.stringify(division)}; use "database" (one database per plugin, the user needs CREATEDB) or "schema" (one schema per plugin in one database)`,
    );
  }
  problems.push(...serviceDatabaseProblems(config));

  // What HTTPS egress never reaches, and what the ALB subnets are checked against.
  if (!isSet(config, 'goldenPath.network.vpcCidr')) {
    add(
      'goldenPath.network.vpcCidr',
      "is missing: the VPC's CIDR, which services' HTTPS egress never reaches",
      'VPC_CIDR',
    );
  }
  // The aws secret store's role trusts the cluster's service accounts (IRSA).
  if (
    (str(config, 'goldenPath.secrets.provider') ?? 'aws') === 'aws' &&
    !isSet(config, 'goldenPath.kubernetes.oidcProvider')
  ) {
    add(
      'goldenPath.kubernetes.oidcProvider',
      "is missing: each service's SecretStore role trusts the cluster's IAM OIDC provider (EKS IRSA)",
      'K8S_OIDC_PROVIDER',
    );
  }

  const caFile = ctx.env?.POSTGRES_CA_FILE;
  if (caFile) {
    const error = ctx.checkReadable?.(caFile);
    if (error) {
      add(
        'backend.database.connection.ssl.ca',
        `CA file "${caFile}" cannot be read (${error}); point it at the RDS CA bundle or unset it`,
        'POSTGRES_CA_FILE',
      );
    }
  }

  for (const [key, envVar, what] of REQUIRED_OUTSIDE_GOLDEN_PATH) {
    if (!isSet(config, key)) add(key, `is missing: ${what}`, envVar);
  }
  for (const [key, { env, what }] of requiredGoldenPathKeys()) {
    if (!isSet(config, key)) add(key, `is missing: ${what}`, env);
  }
  for (const key of ['app.baseUrl', 'backend.baseUrl']) {
    if (isLocalhost(str(config, key))) {
      add(
        key,
        'points at localhost; set the public URL',
        key === 'app.baseUrl' ? 'APP_BASE_URL' : 'BACKEND_BASE_URL',
      );
    }
  }

  // Sandbox and debugging switches must not reach production: they would
  // send tokens in clear text or fall back to dummy credentials.
  if (config.getOptional('goldenPath.aws.endpoint') !== undefined) {
    add(
      'goldenPath.aws.endpoint',
      'is a sandbox override; remove it so ECR and IAM use the real AWS endpoints',
    );
  }
  if (config.getOptional('goldenPath.kubernetes.skipTLSVerify') === true) {
    add(
      'goldenPath.kubernetes.skipTLSVerify',
      'must not be true in production; set K8S_CA_DATA to the API server CA instead',
      'K8S_CA_DATA',
    );
  }
  for (const [key, envVar] of [
    ['goldenPath.argocd.url', 'ARGOCD_URL'],
    ['goldenPath.kubernetes.url', 'K8S_API_URL'],
  ] as const) {
    if (str(config, key)?.startsWith('http://')) {
      add(
        key,
        'uses http://: tokens would travel unencrypted; use https://',
        envVar,
      );
    }
  }
  // The push webhook (on unless `false`): without a secret ArgoCD accepts a
  // refresh from anyone who can reach it.
  if (
    config.getOptional('goldenPath.argocd.webhook') !== false &&
    !str(config, 'goldenPath.argocd.webhook.secret')
  ) {
    add(
      'goldenPath.argocd.webhook.secret',
      "is missing: the secret each GitOps repository's push webhook sends to ArgoCD (webhook.gitlab.secret in argocd-secret); or set goldenPath.argocd.webhook: false to let ArgoCD poll",
      'ARGOCD_WEBHOOK_SECRET',
    );
  }
  if (
    config.getOptional('backend.auth.dangerouslyDisableDefaultAuthPolicy') ===
    true
  ) {
    add(
      'backend.auth.dangerouslyDisableDefaultAuthPolicy',
      'must not be true in production: every route would be open without sign-in',
    );
  }

  // The GitLab token lives in Backstage's own integrations section.
  const gitlabHost = str(config, 'goldenPath.gitlab.host');
  const integration = (
    config.getOptionalConfigArray('integrations.gitlab') ?? []
  ).find(
    c => gitlabHost !== undefined && c.getOptionalString('host') === gitlabHost,
  );
  if (integration?.getOptionalString('apiBaseUrl')?.startsWith('http://')) {
    add(
      'integrations.gitlab',
      `apiBaseUrl of host "${gitlabHost}" uses http://: tokens would travel unencrypted; use https://`,
    );
  }
  if (!integration?.getOptionalString('token')) {
    add(
      'integrations.gitlab',
      `needs an entry for host "${
        gitlabHost ?? '<goldenPath.gitlab.host>'
      }" with an API token`,
      'GITLAB_TOKEN',
    );
  }

  // The registry host must match the account and region.
  const account = str(config, 'goldenPath.aws.accountId');
  const region = str(config, 'goldenPath.aws.region');
  const registry = str(config, 'goldenPath.aws.ecrRegistry');
  if (
    account &&
    region &&
    registry &&
    registry !== `${account}.dkr.ecr.${region}.amazonaws.com`
  ) {
    add(
      'goldenPath.aws.ecrRegistry',
      `is "${registry}" but account ${account} in ${region} has registry ${account}.dkr.ecr.${region}.amazonaws.com`,
      'ECR_REGISTRY',
    );
  }
  return problems;
}

/**
 * Checks the resolved configuration and returns every problem found (empty
 * when it is fine). Pure apart from `ctx.checkReadable`.
 */
export function validate(
  config: Config,
  ctx: ValidationContext,
): ConfigProblem[] {
  const problems = goldenPathShapeProblems(config);
  // Who may do what: unknown keys beside `roles` are reported by the shape check.
  problems.push(
    ...rolesConfigProblems(config).filter(p => p.key.startsWith(ROLES_KEY)),
  );
  problems.push(...networkAndSecretsProblems(config));
  if (ctx.mode === 'production')
    problems.push(...productionProblems(config, ctx));
  return problems;
}

/**
 * Production rules apply unless the config explicitly marks a local portal
 * (`goldenPath.local: true`) and nothing says otherwise (NODE_ENV or the auth
 * environment). Detection fails closed: a config that forgets to say what it
 * is gets the production rules.
 */
export function modeOf(
  config: Config,
  env: Record<string, string | undefined>,
): ValidationMode {
  const local =
    config.getOptional('goldenPath.local') === true &&
    env.NODE_ENV !== 'production' &&
    config.getOptionalString('auth.environment') !== 'production';
  return local ? 'local' : 'production';
}
