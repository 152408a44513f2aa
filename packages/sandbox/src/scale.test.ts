import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { RunningSandbox, startDefaultSandbox } from './index';

const run = promisify(execFile);

/**
 * Item 1 of the sandbox's contract: nothing serialises unrelated work, the
 * cost of one change does not grow with the number of objects, and the
 * figures are printed (timings are never asserted, only correctness).
 */
describe('sandbox at scale', () => {
  let root: string;
  let sandbox: RunningSandbox;
  let base: string;

  const api = async (p: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${base}/api/v4${p}`, {
      method: init.method ?? 'GET',
      headers: { 'PRIVATE-TOKEN': 't', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const createAndCommit = async (name: string) => {
    const created = await api('/projects', { method: 'POST', body: { name, namespace_id: 'apps' } });
    if (created.status !== 201) return { created, committed: undefined };
    const committed = await api(`/projects/${created.body.id}/repository/commits`, {
      method: 'POST',
      body: {
        branch: 'main',
        commit_message: `Initial ${name}`,
        actions: [
          { action: 'create', file_path: 'README.md', content: `# ${name}\n` },
          { action: 'create', file_path: 'src/index.js', content: 'console.log(1);\n' },
        ],
      },
    });
    return { created, committed };
  };

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-scale-'));
    sandbox = await startDefaultSandbox({
      dataDir: path.join(root, 'data'),
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
    });
    base = sandbox.urls.gitlab;
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('creates 20 projects with commits concurrently while the event loop stays responsive', async () => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks += 1;
    }, 5);
    delay.enable();
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 20 }, (_v, i) => createAndCommit(`burst-${i}`)));
    const elapsed = Date.now() - started;
    delay.disable();
    clearInterval(ticker);

    for (const { created, committed } of results) {
      expect(created.status).toBe(201);
      expect(committed?.status).toBe(201);
    }
    const listed = await api('/groups/apps/projects?per_page=100');
    expect(listed.body.map((p: { path: string }) => p.path).sort()).toEqual(
      Array.from({ length: 20 }, (_v, i) => `burst-${i}`).sort(),
    );
    for (const { created } of results) {
      const commits = await api(`/projects/${created.body.id}/repository/commits`);
      expect(commits.body.map((c: { title: string }) => c.title)).toEqual([`Initial ${created.body.path}`]);
    }
    // eslint-disable-next-line no-console
    console.log(
      `20 concurrent create+commit: ${elapsed} ms in all; event loop delay max ${(delay.max / 1e6).toFixed(1)} ms, ` +
        `p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, mean ${(delay.mean / 1e6).toFixed(1)} ms; ` +
        `${ticks} ticks of a 5 ms timer`,
    );
  }, 60_000);

  it('lets exactly one of concurrent creates of one path succeed', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => api('/projects', { method: 'POST', body: { name: 'same', namespace_id: 'apps' } })),
    );
    expect(answers.filter(a => a.status === 201)).toHaveLength(1);
    const refused = answers.filter(a => a.status !== 201);
    expect(refused).toHaveLength(9);
    for (const a of refused) {
      expect(a.status).toBe(400);
      expect(a.body.message.path).toEqual(['has already been taken']);
    }
  }, 30_000);

  it('loses no update when commits to one branch race each other and a git push', async () => {
    const { created } = await createAndCommit('racy');
    const id = created.body.id;
    const commits = await Promise.all(
      Array.from({ length: 12 }, (_v, i) =>
        api(`/projects/${id}/repository/commits`, {
          method: 'POST',
          body: { branch: 'main', commit_message: `c${i}`, actions: [{ action: 'create', file_path: `f/${i}.txt`, content: `${i}\n` }] },
        }),
      ),
    );
    expect(commits.map(c => c.status)).toEqual(Array(12).fill(201));
    const tree = await api(`/projects/${id}/repository/tree?path=f&per_page=100`);
    expect(tree.body.map((e: { name: string }) => e.name).sort()).toEqual(
      Array.from({ length: 12 }, (_v, i) => `${i}.txt`).sort(),
    );
    const history = await api(`/projects/${id}/repository/commits?per_page=100`);
    expect(history.body).toHaveLength(13);
    // Linear: every commit's parent is the next one in the list.
    history.body.slice(0, -1).forEach((c: { parent_ids: string[] }, i: number) => {
      expect(c.parent_ids).toEqual([history.body[i + 1].id]);
    });

    // A git push racing API commits: whichever lands first, nothing is lost.
    const env = {
      PATH: process.env.PATH,
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@example.com',
    };
    const clone = path.join(root, 'clone');
    const url = `${base.replace('://', '://gitlab-ci-token:sandbox-token@')}/apps/racy.git`;
    await run('git', ['clone', '--quiet', url, clone], { env });
    fs.writeFileSync(path.join(clone, 'pushed.txt'), 'pushed\n');
    await run('git', ['add', 'pushed.txt'], { cwd: clone, env });
    await run('git', ['commit', '--quiet', '-m', 'pushed'], { cwd: clone, env });
    const [push, apiCommit] = await Promise.all([
      run('git', ['push', '--quiet', 'origin', 'main'], { cwd: clone, env }).then(
        () => 'ok',
        () => 'rejected',
      ),
      api(`/projects/${id}/repository/commits`, {
        method: 'POST',
        body: { branch: 'main', commit_message: 'api', actions: [{ action: 'create', file_path: 'api.txt', content: 'api\n' }] },
      }),
    ]);
    expect(apiCommit.status).toBe(201);
    const files = (await api(`/projects/${id}/repository/tree?per_page=100`)).body.map((e: { name: string }) => e.name);
    expect(files).toContain('api.txt');
    // A push that lost the race is refused as non-fast-forward, never overwrites.
    expect(push === 'rejected' || files.includes('pushed.txt')).toBe(true);
  }, 60_000);

  it('costs the same per operation with 1,000 services present as with none', async () => {
    const measure = async (label: string) => {
      const rounds = 5;
      const times = { create: 0, commit: 0, get: 0, list: 0 };
      for (let i = 0; i < rounds; i++) {
        const name = `${label}-${i}`;
        let t = performance.now();
        const created = await api('/projects', { method: 'POST', body: { name, namespace_id: 'apps' } });
        times.create += performance.now() - t;
        expect(created.status).toBe(201);
        t = performance.now();
        const committed = await api(`/projects/${created.body.id}/repository/commits`, {
          method: 'POST',
          body: { branch: 'main', commit_message: 'x', actions: [{ action: 'create', file_path: 'a.txt', content: 'a' }] },
        });
        times.commit += performance.now() - t;
        expect(committed.status).toBe(201);
        t = performance.now();
        expect((await api(`/projects/apps%2F${name}`)).status).toBe(200);
        times.get += performance.now() - t;
        t = performance.now();
        expect((await api('/groups/apps/projects?per_page=20')).status).toBe(200);
        times.list += performance.now() - t;
      }
      return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Number((v / rounds).toFixed(1))]));
    };

    const empty = await measure('empty');
    const seedStarted = performance.now();
    const seeded = await fetch(`${base}/__admin/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 1000, prefix: 'svc' }),
    });
    expect(seeded.status).toBe(200);
    const seedMs = performance.now() - seedStarted;
    const full = await measure('full');

    const listed = await api('/projects?topic=golden-path-idp&per_page=1');
    expect(listed.headers.get('x-total')).toBe('2000');
    // A seeded repository is made on first use and behaves like any other.
    const readme = await fetch(`${base}/api/v4/projects/apps%2Fsvc-00042/repository/files/README.md/raw`, {
      headers: { 'PRIVATE-TOKEN': 't' },
    });
    expect(await readme.text()).toBe('# svc-00042\n');
    // eslint-disable-next-line no-console
    console.log(
      `per-operation ms (mean of 5), empty: ${JSON.stringify(empty)}; with 1,000 services (2,000 projects): ${JSON.stringify(full)}; ` +
        `seeding 1,000 services took ${seedMs.toFixed(0)} ms`,
    );
  }, 120_000);
});
