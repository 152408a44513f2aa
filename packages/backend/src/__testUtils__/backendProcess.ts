import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

// Test-only helper that always runs from source, never from a production build.
// eslint-disable-next-line no-restricted-syntax
const BACKEND_DIR = path.resolve(__dirname, '../..');
export const REPO_ROOT = path.resolve(BACKEND_DIR, '../..');

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface BackendProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/**
 * Starts the real backend (src/index.ts through Backstage's Node transform,
 * as `backstage-cli package start` does) with only the given environment, so
 * nothing from the developer's shell leaks in.
 */
export function startBackend(
  configFiles: string[],
  env: Record<string, string>,
): BackendProcess {
  const args = [
    '--require',
    require.resolve('@backstage/cli/config/nodeTransform.cjs'),
    'src/index.ts',
    ...configFiles.flatMap(f => ['--config', path.resolve(REPO_ROOT, f)]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: BACKEND_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      // To profile the backend under a test or `yarn bench`, e.g.
      // BACKEND_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
      ...(process.env.BACKEND_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BACKEND_NODE_OPTIONS }
        : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  const exited = new Promise<number | null>(resolve =>
    child.on('exit', code => resolve(code)),
  );
  return {
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise(r => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Polls `url` until it answers 200, the process exits, or the deadline passes. */
export async function waitForReady(
  url: string,
  backend: BackendProcess,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  backend.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return 200;
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`backend never became ready at ${url}; output:\n${backend.output()}`);
}
