import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * In a fresh Node process, as the backend starts: what is loaded when the
 * package is imported, when the service's client is made, and at its first
 * call. (Jest keeps its own module registry, so this needs a real process.)
 */
function loadedAfter(steps: string): string[] {
  const script = `
    const loaded = () => Object.keys(require.cache).some(k => k.includes('/@kubernetes/client-node/'));
    const seen = [];
    const pkg = require('./src/index.ts');
    seen.push('import:' + loaded());
    (async () => {
      ${steps}
      console.log(JSON.stringify(seen));
    })().catch(e => { console.error(e); process.exit(1); });
  `;
  const out = execFileSync(
    process.execPath,
    ['--require', require.resolve('@backstage/cli/config/nodeTransform.cjs'), '-e', script],
    { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

jest.setTimeout(60_000);

describe('lazyKubernetesClient', () => {
  it('loads @kubernetes/client-node only at the first Kubernetes call', () => {
    const seen = loadedAfter(`
      const client = pkg.lazyKubernetesClient({ url: 'http://127.0.0.1:9', token: 't' }, { requestTimeoutMs: 500 });
      seen.push('made:' + loaded());
      await client.namespaceExists('x').catch(() => undefined);
      seen.push('called:' + loaded());
    `);
    expect(seen).toEqual(['import:false', 'made:false', 'called:true']);
  });
});
