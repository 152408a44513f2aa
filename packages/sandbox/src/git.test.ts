import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitRepos } from './git';

describe('GitRepos', () => {
  let root: string;
  let repos: GitRepos;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gitrepos-'));
    repos = new GitRepos(path.join(root, 'git'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('commits files into a bare repository that git can clone', async () => {
    await repos.create('apps/demo');
    const { sha } = await repos.commit('apps/demo', {
      branch: 'main',
      message: 'first',
      actions: [
        { action: 'create', file_path: 'README.md', content: '# demo\n' },
        { action: 'create', file_path: 'src/index.js', content: 'x' },
      ],
    });
    expect(await repos.resolve('apps/demo', 'main')).toBe(sha);
    const clone = path.join(root, 'clone');
    execFileSync('git', ['clone', '--quiet', repos.dirFor('apps/demo'), clone]);
    expect(fs.readFileSync(path.join(clone, 'src/index.js'), 'utf8')).toBe('x');
    expect(execFileSync('git', ['-C', clone, 'log', '--format=%s']).toString().trim()).toBe('first');
  });

  it('updates and deletes in a second commit on top of the first', async () => {
    await repos.create('apps/demo');
    await repos.commit('apps/demo', { branch: 'main', message: 'a', actions: [{ action: 'create', file_path: 'a', content: '1' }, { action: 'create', file_path: 'b', content: '2' }] });
    await repos.commit('apps/demo', { branch: 'main', message: 'b', actions: [{ action: 'update', file_path: 'a', content: '3' }, { action: 'delete', file_path: 'b' }] });
    expect(await repos.listTree('apps/demo')).toEqual(['a']);
    expect((await repos.readFile('apps/demo', 'main', 'a'))?.toString()).toBe('3');
  });

  it('refuses to create an existing file or update a missing one', async () => {
    await repos.create('apps/demo');
    await repos.commit('apps/demo', { branch: 'main', message: 'a', actions: [{ action: 'create', file_path: 'a', content: '1' }] });
    await expect(repos.commit('apps/demo', { branch: 'main', message: 'x', actions: [{ action: 'create', file_path: 'a', content: '1' }] })).rejects.toThrow('already exists: a');
    await expect(repos.commit('apps/demo', { branch: 'main', message: 'x', actions: [{ action: 'update', file_path: 'zz', content: '1' }] })).rejects.toThrow("doesn't exist: zz");
  });

  it('rejects paths that escape the root', () => {
    expect(() => repos.dirFor('../outside')).toThrow('invalid project path');
  });
});
