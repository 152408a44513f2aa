/*
 * Runs the local platform sandbox: GitLab on :7080, ArgoCD on :7081,
 * ECR/IAM on :7082, Kubernetes on :7083, state under SANDBOX_DATA_DIR
 * (default .sandbox-data at the repository root). Local use only.
 */
import path from 'node:path';
import { startDefaultSandbox } from './index';

// Started from packages/sandbox by `yarn workspace @internal/sandbox start`.
const dataDir =
  process.env.SANDBOX_DATA_DIR ?? path.resolve(process.cwd(), '../../.sandbox-data');

startDefaultSandbox({ dataDir, adminToken: process.env.SANDBOX_ADMIN_TOKEN }).then(
  sandbox => {
    // eslint-disable-next-line no-console
    console.log(`Sandbox ready (state in ${dataDir}):\n${Object.entries(sandbox.urls).map(([s, u]) => `  ${s.padEnd(10)} ${u}`).join('\n')}`);
    const stop = () => sandbox.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  error => {
    // eslint-disable-next-line no-console
    console.error(`Sandbox failed to start: ${error.message}`);
    process.exit(1);
  },
);
