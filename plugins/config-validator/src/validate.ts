import { Config } from '@backstage/config';
import {
  goldenPathConfigSchema,
  requiredGoldenPathKeys,
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

function productionProblems(
  config: Config,
  ctx: ValidationContext,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (key: string, message: string, envVar?: string) =>
    problems.push({ key, message, envVar });

  // Sign-in: GitHub only.
  if (config.has('auth.providers.guest')) {
    add(
      'auth.providers.guest',
      'guest sign-in must not be enabled in production; remove the key',
    );
  }
  const authEnv = str(config, 'auth.environment') ?? 'development';
  const github = `auth.providers.github.${authEnv}`;
  if (!isSet(config, `${github}.clientId`)) {
    add(
      `${github}.clientId`,
      'is missing: GitHub OAuth is the production sign-in provider',
      'AUTH_GITHUB_CLIENT_ID',
    );
  }
  if (!isSet(config, `${github}.clientSecret`)) {
    add(
      `${github}.clientSecret`,
      'is missing: GitHub OAuth is the production sign-in provider',
      'AUTH_GITHUB_CLIENT_SECRET',
    );
  }
  if (str(config, 'goldenPath.signIn') !== 'github') {
    add(
      'goldenPath.signIn',
      'must be "github" in production so the sign-in page offers GitHub only',
    );
  }

  // Service-to-service auth for callers outside the backend.
  const externalAccess =
    config.getOptionalConfigArray('backend.auth.externalAccess') ?? [];
  const legacySecrets = externalAccess
    .filter(e => e.getOptionalString('type') === 'legacy')
    .map(e => e.getOptionalString('options.secret'));
  if (legacySecrets.length === 0 || legacySecrets.some(s => !s)) {
    add(
      'backend.auth.externalAccess',
      'needs a legacy access entry with a secret',
      'BACKEND_SECRET',
    );
  } else if (legacySecrets.some(s => (s ?? '').length < 24)) {
    add(
      'backend.auth.externalAccess',
      "secret is shorter than 24 characters; generate one with `node -p \"require('crypto').randomBytes(24).toString('base64')\"`",
      'BACKEND_SECRET',
    );
  }

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
  if (ctx.mode === 'production')
    problems.push(...productionProblems(config, ctx));
  return problems;
}

/**
 * Production rules apply when the process runs with NODE_ENV=production or
 * the config declares the production auth environment.
 */
export function modeOf(
  config: Config,
  env: Record<string, string | undefined>,
): ValidationMode {
  return env.NODE_ENV === 'production' ||
    config.getOptionalString('auth.environment') === 'production'
    ? 'production'
    : 'local';
}
