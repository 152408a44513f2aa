import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A commit action that does not fit the branch's files (GitLab answers 400). */
export class GitActionError extends Error {
  name = 'GitActionError';
}

/** One change of a commit, as in GitLab's commits API. */
export interface CommitAction {
  action: 'create' | 'update' | 'delete';
  file_path: string;
  content?: string;
  encoding?: 'text' | 'base64';
}

/**
 * Real bare git repositories on disk, written with git's plumbing (no work
 * tree), so they can be cloned over HTTP by `git http-backend`.
 */
export class GitRepos {
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

  exists(fullPath: string): boolean {
    return fs.existsSync(path.join(this.dirFor(fullPath), 'HEAD'));
  }

  /** Creates an empty bare repository whose default branch is `main`. */
  create(fullPath: string): void {
    const dir = this.dirFor(fullPath);
    fs.mkdirSync(dir, { recursive: true });
    this.#git(dir, ['init', '--bare', '--quiet', '--initial-branch=main']);
    // Allow anonymous clones and pushes over http-backend.
    this.#git(dir, ['config', 'http.receivepack', 'true']);
  }

  remove(fullPath: string): void {
    fs.rmSync(this.dirFor(fullPath), { recursive: true, force: true });
  }

  /** Commit sha of `ref`, or undefined when the branch does not exist. */
  resolve(fullPath: string, ref: string): string | undefined {
    try {
      return this.#git(this.dirFor(fullPath), ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Every file path at `ref` (recursive), or [] for a missing branch. */
  listTree(fullPath: string, ref = 'main'): string[] {
    if (!this.resolve(fullPath, ref)) return [];
    const out = this.#git(this.dirFor(fullPath), ['ls-tree', '-r', '--name-only', ref]);
    return out.split('\n').filter(Boolean);
  }

  /** Content of a file at `ref`, or undefined. */
  readFile(fullPath: string, ref: string, filePath: string): Buffer | undefined {
    if (!this.resolve(fullPath, ref)) return undefined;
    try {
      return execFileSync('git', ['cat-file', 'blob', `${ref}:${filePath}`], {
        env: this.#env(this.dirFor(fullPath)),
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      return undefined;
    }
  }

  /**
   * Makes one commit on `branch` from the actions, creating the branch if it
   * does not exist. Throws when a create targets an existing file or an
   * update/delete a missing one, as GitLab does.
   */
  commit(
    fullPath: string,
    opts: { branch: string; message: string; actions: CommitAction[]; author?: { name: string; email: string } },
  ): string {
    const dir = this.dirFor(fullPath);
    const parent = this.resolve(fullPath, opts.branch);
    const existing = new Set(parent ? this.listTree(fullPath, opts.branch) : []);
    const indexFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-git-')), 'index');
    const env = { ...this.#env(dir), GIT_INDEX_FILE: indexFile };
    const git = (args: string[], input?: string | Buffer) =>
      execFileSync('git', args, { env, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();
    try {
      git(parent ? ['read-tree', parent] : ['read-tree', '--empty']);
      for (const a of opts.actions) {
        if (a.action === 'create' && existing.has(a.file_path)) {
          throw new GitActionError(`A file with this name already exists: ${a.file_path}`);
        }
        if ((a.action === 'update' || a.action === 'delete') && !existing.has(a.file_path)) {
          throw new GitActionError(`A file with this name doesn't exist: ${a.file_path}`);
        }
        if (a.action === 'delete') {
          // --force-remove needs a work tree; --index-info with mode 0 does not.
          git(['update-index', '--index-info'], `0 ${'0'.repeat(40)}\t${a.file_path}\n`);
          existing.delete(a.file_path);
          continue;
        }
        const content = a.encoding === 'base64' ? Buffer.from(a.content ?? '', 'base64') : Buffer.from(a.content ?? '', 'utf8');
        const blob = git(['hash-object', '-w', '--stdin'], content);
        git(['update-index', '--add', '--cacheinfo', `100644,${blob},${a.file_path}`]);
        existing.add(a.file_path);
      }
      const tree = git(['write-tree']);
      const author = opts.author ?? { name: 'Sandbox', email: 'sandbox@localhost' };
      const commitEnv = {
        ...env,
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      };
      const sha = execFileSync('git', ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', opts.message], {
        env: commitEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
      }).toString().trim();
      // Compare-and-swap: fails if someone else moved the branch meanwhile.
      git(['update-ref', `refs/heads/${opts.branch}`, sha, parent ?? '0'.repeat(40)]);
      return sha;
    } finally {
      fs.rmSync(path.dirname(indexFile), { recursive: true, force: true });
    }
  }

  #env(dir: string): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: process.env.HOME, GIT_DIR: dir, GIT_CONFIG_NOSYSTEM: '1' };
  }

  #git(dir: string, args: string[]): string {
    return execFileSync('git', args, { env: this.#env(dir), stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 }).toString();
  }
}
