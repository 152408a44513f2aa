import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyedMutex } from './store';

/** A commit action that does not fit the branch's files (GitLab answers 400). */
export class GitActionError extends Error {
  name = 'GitActionError';
}

/** One change of a commit, as in GitLab's commits API. */
export interface CommitAction {
  action: 'create' | 'update' | 'delete' | 'chmod';
  file_path: string;
  content?: string;
  encoding?: 'text' | 'base64';
  /** true: mode 100755, false: 100644, undefined: keep the file's mode (100644 for a new file). */
  execute_filemode?: boolean;
}

/** Largest output read from one git command (file contents, trees, logs). */
export const GIT_MAX_BUFFER = 1024 * 1024 * 1024;

export const ZERO_SHA = '0'.repeat(40);

/** Environment for a git command on the bare repository `dir`. */
export function gitEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, GIT_DIR: dir, GIT_CONFIG_NOSYSTEM: '1', ...extra };
}

/**
 * The helper processes git runs in. Starting a child process forks the
 * parent, which blocks the parent's event loop for as long as copying its
 * page tables takes (milliseconds for a small process, tens for a large
 * one), so the sandbox forks from small helpers instead: the main process
 * only exchanges messages with them.
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
process.on('message', ({ id, args, env, input, maxBuffer }) => {
  let child;
  try {
    child = spawn('git', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    process.send({ id, code: -1, stderr: String(e && e.message) });
    return;
  }
  const out = [];
  let size = 0;
  let overflow = false;
  let stderr = '';
  let answered = false;
  const answer = m => { if (!answered) { answered = true; process.send(m); } };
  child.stdout.on('data', c => {
    size += c.length;
    if (size > maxBuffer) { overflow = true; child.kill(); } else out.push(c);
  });
  child.stderr.on('data', c => { if (stderr.length < 65536) stderr += c; });
  child.on('error', e => answer({ id, code: -1, stderr: stderr + String(e && e.message) }));
  child.on('close', code => answer({ id, code, stdout: Buffer.concat(out), stderr, overflow }));
  child.stdin.on('error', () => {});
  child.stdin.end(input === undefined || input === null ? undefined : Buffer.from(input));
});
process.on('disconnect', () => process.exit(0));
`;

interface Pending {
  resolve(out: Buffer): void;
  reject(error: Error): void;
  args: string[];
}

interface HelperReply {
  id: number;
  code: number | null;
  stdout?: Uint8Array;
  stderr?: string;
  overflow?: boolean;
}

/** A few helper processes that run git commands and send back their output. */
class GitRunner {
  readonly #helpers: { child: ChildProcess; pending: Map<number, Pending> }[] = [];
  #next = 0;
  #ids = 0;

  constructor(private readonly size: number) {}

  run(args: string[], opts: { env: NodeJS.ProcessEnv; input?: string | Buffer; maxBuffer?: number }): Promise<Buffer> {
    const helper = this.#helper();
    const id = ++this.#ids;
    return new Promise<Buffer>((resolve, reject) => {
      helper.pending.set(id, { resolve, reject, args });
      if (helper.pending.size === 1) (helper.child.channel as { ref?(): void } | undefined)?.ref?.();
      helper.child.send({
        id,
        args,
        env: opts.env,
        input: opts.input === undefined ? undefined : Buffer.from(opts.input),
        maxBuffer: opts.maxBuffer ?? GIT_MAX_BUFFER,
      });
    });
  }

  #helper() {
    const index = this.#next++ % this.size;
    const existing = this.#helpers[index];
    if (existing && existing.child.connected) return existing;
    const child = spawn(process.execPath, ['-e', HELPER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: { PATH: process.env.PATH },
    });
    const helper = { child, pending: new Map<number, Pending>() };
    child.on('message', (m: HelperReply) => {
      const p = helper.pending.get(m.id);
      if (!p) return;
      helper.pending.delete(m.id);
      if (helper.pending.size === 0) (child.channel as { unref?(): void } | undefined)?.unref?.();
      if (m.code === 0 && !m.overflow) {
        p.resolve(Buffer.from(m.stdout!.buffer, m.stdout!.byteOffset, m.stdout!.byteLength));
        return;
      }
      const reason = m.overflow ? `output larger than the limit` : (m.stderr ?? '').trim() || `exit code ${m.code}`;
      const error = new Error(`git ${p.args[0]} failed: ${reason}`) as Error & { stderr?: string; code?: number | null };
      error.stderr = m.stderr ?? '';
      error.code = m.code;
      p.reject(error);
    });
    const fail = () => {
      for (const p of helper.pending.values()) p.reject(new Error(`git ${p.args[0]} failed: the git helper process exited`));
      helper.pending.clear();
    };
    child.on('exit', fail);
    child.on('error', fail);
    child.unref();
    (child.channel as { unref?(): void } | undefined)?.unref?.();
    this.#helpers[index] = helper;
    return helper;
  }
}

const runner = new GitRunner(Math.max(1, Number(process.env.SANDBOX_GIT_HELPERS) || 2));

/**
 * Runs git without blocking the event loop (in a helper process, see
 * {@link GitRunner}); resolves with its stdout (up to `maxBuffer`,
 * default {@link GIT_MAX_BUFFER}), or rejects with an error carrying
 * `stderr` and `code`.
 */
export function runGit(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; input?: string | Buffer; maxBuffer?: number },
): Promise<Buffer> {
  return runner.run(args, opts);
}

/** One file of a tree: mode (`100644`, `100755`, `120000`), blob id and path. */
export interface TreeFile {
  mode: string;
  id: string;
  path: string;
}

/**
 * Real bare git repositories on disk, written with git's plumbing (no work
 * tree), so they can be cloned over HTTP by `git http-backend`. Every git
 * call is a child process the event loop does not wait for; writes to one
 * repository are serialised with {@link GitRepos.exclusive}, different
 * repositories are written concurrently.
 */
export class GitRepos {
  readonly #locks = new KeyedMutex();

  constructor(readonly rootDir: string) {
    fs.mkdirSync(rootDir, { recursive: true });
  }

  /** Folder of the bare repository of project `fullPath` (e.g. `apps/x`). */
  dirFor(fullPath: string): string {
    const dir = path.resolve(this.rootDir, `${fullPath}.git`);
    if (!dir.startsWith(path.resolve(this.rootDir) + path.sep)) {
      throw new Error(`invalid project path ${fullPath}`);
    }
    return dir;
  }

  /** Runs `fn` while no other exclusive work on `fullPath`'s repository runs. */
  exclusive<R>(fullPath: string, fn: () => Promise<R>): Promise<R> {
    return this.#locks.run(fullPath.toLowerCase(), fn);
  }

  /** True when the repository exists (or is seeded and made on first use). */
  exists(fullPath: string): boolean {
    return fs.existsSync(path.join(this.dirFor(fullPath), 'HEAD')) || this.isLazy(fullPath);
  }

  /** True for a seeded repository not yet made (see {@link seedLazy}). */
  isLazy(fullPath: string): boolean {
    return fs.existsSync(this.#lazyFile(fullPath));
  }

  #lazyFile(fullPath: string): string {
    return `${this.dirFor(fullPath)}.lazy.json`;
  }

  /**
   * Records a repository to be made on first use, with one commit of
   * `files` on `defaultBranch`: seeding thousands costs one small file each.
   */
  async seedLazy(
    fullPath: string,
    spec: { defaultBranch: string; message: string; files: Record<string, string> },
  ): Promise<void> {
    const file = this.#lazyFile(fullPath);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, JSON.stringify(spec));
  }

  /** Makes a seeded repository for real, once (a no-op for every other one). */
  async materialize(fullPath: string): Promise<void> {
    if (!this.isLazy(fullPath)) return;
    await this.exclusive(fullPath, async () => {
      const file = this.#lazyFile(fullPath);
      let spec: { defaultBranch: string; message: string; files: Record<string, string> };
      try {
        spec = JSON.parse(await fs.promises.readFile(file, 'utf8'));
      } catch {
        return; // made meanwhile
      }
      await fs.promises.rm(this.dirFor(fullPath), { recursive: true, force: true });
      await this.create(fullPath, spec.defaultBranch);
      const actions = Object.entries(spec.files).map(([filePath, content]) => ({
        action: 'create' as const,
        file_path: filePath,
        content,
      }));
      if (actions.length > 0) {
        await this.#commitOnce(fullPath, { branch: spec.defaultBranch, message: spec.message, actions });
      }
      await fs.promises.rm(file, { force: true });
    });
  }

  /** Runs git on the repository (made first if it is a seeded one). */
  async git(fullPath: string, args: string[], input?: string | Buffer): Promise<Buffer> {
    await this.materialize(fullPath);
    return this.#run(fullPath, args, input);
  }

  #run(fullPath: string, args: string[], input?: string | Buffer): Promise<Buffer> {
    return runGit(args, { env: gitEnv(this.dirFor(fullPath)), input });
  }

  async #text(fullPath: string, args: string[], input?: string | Buffer): Promise<string> {
    return (await this.#run(fullPath, args, input)).toString();
  }

  /** Creates an empty bare repository whose default branch is `main` (or `defaultBranch`). */
  async create(fullPath: string, defaultBranch = 'main'): Promise<void> {
    const dir = this.dirFor(fullPath);
    await fs.promises.mkdir(dir, { recursive: true });
    await runGit(['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, dir], { env: gitEnv(dir) });
  }

  async remove(fullPath: string): Promise<void> {
    await fs.promises.rm(this.dirFor(fullPath), { recursive: true, force: true });
    await fs.promises.rm(this.#lazyFile(fullPath), { force: true });
  }

  /** Commit sha of `ref`, or undefined when it does not exist. */
  async resolve(fullPath: string, ref: string): Promise<string | undefined> {
    await this.materialize(fullPath);
    return this.#resolve(fullPath, ref);
  }

  async #resolve(fullPath: string, ref: string): Promise<string | undefined> {
    if (!this.exists(fullPath)) return undefined;
    try {
      return (await this.#text(fullPath, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Every file at `ref` with its mode and blob id, or [] for a missing ref. */
  async files(fullPath: string, ref: string): Promise<TreeFile[]> {
    await this.materialize(fullPath);
    return this.#files(fullPath, ref);
  }

  async #files(fullPath: string, ref: string): Promise<TreeFile[]> {
    const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : await this.#resolve(fullPath, ref);
    if (!sha) return [];
    const out = await this.#text(fullPath, ['ls-tree', '-r', '-z', '--full-tree', sha]);
    return out
      .split('\0')
      .filter(Boolean)
      .map(line => {
        const tab = line.indexOf('\t');
        const [mode, , id] = line.slice(0, tab).split(' ');
        return { mode, id, path: line.slice(tab + 1) };
      });
  }

  /** Every file path at `ref` (recursive), or [] for a missing branch. */
  async listTree(fullPath: string, ref = 'main'): Promise<string[]> {
    return (await this.files(fullPath, ref)).map(f => f.path);
  }

  /** Content of a file at `ref`, or undefined. */
  async readFile(fullPath: string, ref: string, filePath: string): Promise<Buffer | undefined> {
    if (!(await this.resolve(fullPath, ref))) return undefined;
    try {
      return await this.#run(fullPath, ['cat-file', 'blob', `${ref}:${filePath}`]);
    } catch {
      return undefined;
    }
  }

  /**
   * Makes one commit on `branch` from the actions, creating the branch if it
   * does not exist (from `startSha` when given). Throws GitActionError when a
   * create targets an existing file or an update/delete/chmod a missing one,
   * as GitLab does. Serialised per repository; the ref moves with a
   * compare-and-swap, so a concurrent `git push` is never overwritten (the
   * commit is rebuilt on top of it).
   */
  commit(
    fullPath: string,
    opts: {
      branch: string;
      message: string;
      actions: CommitAction[];
      author?: { name: string; email: string };
      startSha?: string;
      /** Build on `startSha` even when the branch exists, replacing it. */
      force?: boolean;
    },
  ): Promise<{ sha: string; parent?: string }> {
    return this.materialize(fullPath).then(() =>
      this.exclusive(fullPath, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#commitOnce(fullPath, opts);
        } catch (error) {
          const raced = /cannot lock ref|but expected|is at .* but expected/i.test(String((error as Error).message));
          if (!raced || attempt >= 5) throw error;
        }
      }
      }),
    );
  }

  async #commitOnce(
    fullPath: string,
    opts: {
      branch: string;
      message: string;
      actions: CommitAction[];
      author?: { name: string; email: string };
      startSha?: string;
      /** Build on `startSha` even when the branch exists, replacing it. */
      force?: boolean;
    },
  ): Promise<{ sha: string; parent?: string }> {
    const dir = this.dirFor(fullPath);
    const branchSha = await this.#resolve(fullPath, `refs/heads/${opts.branch}`);
    const parent = opts.force && opts.startSha ? opts.startSha : branchSha ?? opts.startSha;
    const existing = new Map((parent ? await this.#files(fullPath, parent) : []).map(f => [f.path, f]));
    const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sandbox-git-'));
    const env = gitEnv(dir, { GIT_INDEX_FILE: path.join(tmp, 'index') });
    const git = async (args: string[], input?: string | Buffer) =>
      (await runGit(args, { env, input })).toString().trim();
    try {
      const entries: string[] = [];
      const blobs: { index: number; file: string }[] = [];
      for (const a of opts.actions) {
        const old = existing.get(a.file_path);
        if (a.action === 'create' && old) {
          throw new GitActionError(`A file with this name already exists: ${a.file_path}`);
        }
        if (a.action !== 'create' && !old) {
          throw new GitActionError(`A file with this name doesn't exist: ${a.file_path}`);
        }
        if (a.action === 'delete') {
          entries.push(`0 ${ZERO_SHA}\t${a.file_path}`);
          existing.delete(a.file_path);
          continue;
        }
        let mode = old?.mode ?? '100644';
        if (a.execute_filemode !== undefined) mode = a.execute_filemode ? '100755' : '100644';
        if (a.action === 'chmod') {
          entries.push(`${mode} ${old!.id}\t${a.file_path}`);
          existing.set(a.file_path, { ...old!, mode });
          continue;
        }
        const content = Buffer.from(a.content ?? '', a.encoding === 'base64' ? 'base64' : 'utf8');
        const file = path.join(tmp, `blob-${blobs.length}`);
        await fs.promises.writeFile(file, content);
        blobs.push({ index: entries.length, file });
        entries.push(`${mode} BLOB\t${a.file_path}`);
        existing.set(a.file_path, { mode, id: '', path: a.file_path });
      }
      if (blobs.length > 0) {
        const ids = (await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], `${blobs.map(b => b.file).join('\n')}\n`)).split('\n');
        blobs.forEach((b, i) => {
          entries[b.index] = entries[b.index].replace(' BLOB\t', ` ${ids[i]}\t`);
        });
      }
      await git(parent ? ['read-tree', parent] : ['read-tree', '--empty']);
      let tree: string;
      try {
        await git(['update-index', '--add', '-z', '--index-info'], entries.map(e => `${e}\0`).join(''));
        tree = await git(['write-tree']);
      } catch (error) {
        throw new GitActionError(`Your changes could not be committed: ${(error as { stderr?: string }).stderr?.trim() || 'invalid file paths'}`);
      }
      const author = opts.author ?? { name: 'Sandbox', email: 'sandbox@localhost' };
      const sha = (
        await runGit(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'], {
          env: {
            ...env,
            GIT_AUTHOR_NAME: author.name,
            GIT_AUTHOR_EMAIL: author.email,
            GIT_COMMITTER_NAME: author.name,
            GIT_COMMITTER_EMAIL: author.email,
          },
          input: opts.message,
        })
      )
        .toString()
        .trim();
      // Compare-and-swap: fails if someone else moved the branch meanwhile.
      await git(['update-ref', `refs/heads/${opts.branch}`, sha, branchSha ?? ZERO_SHA]);
      return { sha, parent: branchSha };
    } finally {
      await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  }
}
