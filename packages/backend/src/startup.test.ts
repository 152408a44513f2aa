import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BackendProcess,
  freePort,
  startBackend,
  waitForReady,
} from './__testUtils__/backendProcess';
import { dropDatabases, ensurePostgresTls } from './__testUtils__/postgresTls';

// These tests start the real backend as a child process; each takes seconds.
jest.setTimeout(180_000);

const PRODUCTION = ['app-config.production.yaml'];

/** Every variable app-config.production.yaml reads, with valid values. */
function completeProductionEnv(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    APP_BASE_URL: 'https://portal.example.test',
    BACKEND_BASE_URL: 'https://portal.example.test',
    POSTGRES_HOST: 'localhost',
    POSTGRES_PORT: '5432',
    POSTGRES_USER: 'postgres',
    POSTGRES_PASSWORD: 'unused-with-trust-auth',
    GITLAB_HOST: 'gitlab.example.test',
    GITLAB_TOKEN: 'test-gitlab-token',
    GITLAB_APP_GROUP: 'apps',
    GITLAB_GITOPS_GROUP: 'platform/gitops',
    AUTH_GITHUB_CLIENT_ID: 'test-client-id',
    AUTH_GITHUB_CLIENT_SECRET: 'test-client-secret',
    ARGOCD_URL: 'https://argocd.example.test',
    ARGOCD_TOKEN: 'test-argocd-token',
    ARGOCD_WEBHOOK_SECRET: 'test-argocd-webhook-secret',
    AWS_ACCOUNT_ID: '123456789012',
    AWS_REGION: 'eu-west-1',
    ECR_REGISTRY: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    K8S_API_URL: 'https://kubernetes.example.test',
    K8S_TOKEN: 'test-k8s-token',
    BASE_DOMAIN: 'apps.example.test',
    ACM_CERTIFICATE_ARN:
      'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000',
    ALB_GROUP_NAME: 'shared',
    ALB_SUBNET_CIDRS: '10.0.1.0/24,10.0.2.0/24',
    VPC_CIDR: '10.0.0.0/16',
    K8S_OIDC_PROVIDER: 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE',
  };
}

describe('backend startup', () => {
  let backend: BackendProcess | undefined;
  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
  });

  it('refuses a production config with everything missing, listing every problem at once', async () => {
    backend = startBackend(PRODUCTION, { NODE_ENV: 'production' });
    expect(await backend.exited).toBe(1);
    const output = backend.output();
    const problems = output.split('\n').filter(l => l.startsWith('  - '));
    expect(output).toContain(`Refusing to start: ${problems.length} configuration problems:`);
    for (const envVar of Object.keys(completeProductionEnv())) {
      if (['NODE_ENV', 'POSTGRES_PORT'].includes(envVar)) continue; // have defaults
      expect(output).toContain(`(usually set by ${envVar})`);
    }
    // A clear message, not a stack trace.
    expect(output).not.toMatch(/^\s+at /m);
  });

  it('names an unknown key, a wrong type and an unreadable CA file in one error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-config-'));
    const overlay = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      overlay,
      'goldenPath:\n  gitlab:\n    apGroup: apps\n  aws:\n    accountId: 123\n',
    );
    backend = startBackend([...PRODUCTION, overlay], {
      ...completeProductionEnv(),
      POSTGRES_CA_FILE: path.join(dir, 'missing-ca.pem'),
    });
    expect(await backend.exited).toBe(1);
    const output = backend.output();
    expect(output).toContain('Refusing to start: 3 configuration problems:');
    expect(output).toContain('goldenPath.gitlab.apGroup: is not a known key');
    expect(output).toMatch(/goldenPath\.aws\.accountId: .*string/);
    expect(output).toContain('missing-ca.pem" cannot be read (ENOENT)');
    expect(output).not.toMatch(/^\s+at /m);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('boots the production config against real PostgreSQL over verified TLS and reports ready', async () => {
    const caFile = await ensurePostgresTls();
    const prefix = `idp_test_${process.pid}_${Date.now()}_`;
    const port = await freePort();
    try {
      backend = startBackend(PRODUCTION, {
        ...completeProductionEnv(),
        POSTGRES_CA_FILE: caFile,
        // A fresh set of plugin databases for this run, and a free port.
        APP_CONFIG_backend_database_prefix: prefix,
        APP_CONFIG_backend_listen: `127.0.0.1:${port}`,
      });
      const status = await waitForReady(
        `http://127.0.0.1:${port}/.backstage/health/v1/readiness`,
        backend,
        150_000,
      );
      expect(status).toBe(200);
      expect(backend.output()).toContain('Configuration valid for production use');
    } finally {
      await backend?.stop();
      await dropDatabases(prefix);
    }
  });
});
