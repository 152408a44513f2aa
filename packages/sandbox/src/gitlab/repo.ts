import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { GitRepos } from '../git';

/** One entry of a repository tree, as GitLab's tree API lists it. */
export interface TreeEntry {
  id: string;
  name: string;
  type: 'tree' | 'blob' | 'commit';
  path: string;
  mode: string;
}

/** A commit, in the shape of GitLab's commit JSON (without `web_url`). */
export interface CommitInfo {
  id: string;
  short_id: string;
  title: string;
  message: string;
  author_name: string;
  author_email: string;
  authored_date: string;
  committer_name: string;
  committer_email: string;
  committed_date: string;
  created_at: string;
  parent_ids: string[];
}

const ZERO_SHA = '0'.repeat(40);
const MAX_BUFFER = 1024 * 1024 * 1024;

/**
 * Read-side git plumbing the API needs beyond {@link GitRepos}: trees with
 * object ids, commit metadata, history, refs and archives. Every call runs
 * `git` with GIT_DIR set to the project's bare repository.
 */
export class RepoGit {
  constructor(readonly repos: GitRepos) {}

  #env(fullPath: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GIT_DIR: this.repos.dirFor(fullPath),
      GIT_CONFIG_NOSYSTEM: '1',
    };
  }

  #git(fullPath: string, args: string[]): string {
    return execFileSync('git', args, {
      env: this.#env(fullPath),
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: MAX_BUFFER,
    }).toString();
  }

  /** True when the repository has no branch at all. */
  isEmpty(fullPath: string): boolean {
    return this.branches(fullPath).length === 0;
  }

  /** Every branch with the sha it points at, sorted by name. */
  branches(fullPath: string): { name: string; sha: string }[] {
    if (!this.repos.exists(fullPath)) return [];
    return this.#git(fullPath, [
      'for-each-ref',
      '--format=%(objectname) %(refname:strip=2)',
      'refs/heads',
    ])
      .split('\n')
      .filter(Boolean)
      .map(line => ({ sha: line.slice(0, 40), name: line.slice(41) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Whole tree at `sha`, recursively, trees included (git's order). */
  tree(fullPath: string, sha: string): TreeEntry[] {
    const out = this.#git(fullPath, ['ls-tree', '-r', '-t', '-z', '--full-tree', sha]);
    return out
      .split('\0')
      .filter(Boolean)
      .map(line => {
        const tab = line.indexOf('\t');
        const [mode, type, id] = line.slice(0, tab).split(' ');
        const entryPath = line.slice(tab + 1);
        return {
          id,
          name: entryPath.split('/').pop()!,
          type: type as TreeEntry['type'],
          path: entryPath,
          mode,
        };
      });
  }

  /** Object id of `filePath` at `sha` when it is a file, else undefined. */
  blobId(fullPath: string, sha: string, filePath: string): string | undefined {
    try {
      const type = this.#git(fullPath, ['cat-file', '-t', `${sha}:${filePath}`]).trim();
      if (type !== 'blob') return undefined;
      return this.#git(fullPath, ['rev-parse', `${sha}:${filePath}`]).trim();
    } catch {
      return undefined;
    }
  }

  /**
   * Content of the blob `blobId`. (Unlike GitRepos.readFile, not limited to
   * execFileSync's default 1 MiB output.)
   */
  readBlob(fullPath: string, blobId: string): Buffer {
    return execFileSync('git', ['cat-file', 'blob', blobId], {
      env: this.#env(fullPath),
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: MAX_BUFFER,
    });
  }

  /** Content of `filePath` at `ref`, or undefined. */
  readFile(fullPath: string, ref: string, filePath: string): Buffer | undefined {
    const sha = this.repos.resolve(fullPath, ref);
    const blobId = sha && this.blobId(fullPath, sha, filePath);
    return blobId ? this.readBlob(fullPath, blobId) : undefined;
  }

  /** Shas of the history of `sha` (optionally only commits touching `filePath`), newest first. */
  log(
    fullPath: string,
    sha: string,
    opts: { filePath?: string; skip?: number; max?: number } = {},
  ): string[] {
    const args = ['rev-list'];
    if (opts.skip) args.push(`--skip=${opts.skip}`);
    if (opts.max !== undefined) args.push(`--max-count=${opts.max}`);
    args.push(sha);
    if (opts.filePath) args.push('--', opts.filePath);
    return this.#git(fullPath, args).split('\n').filter(Boolean);
  }

  commitInfo(fullPath: string, sha: string): CommitInfo {
    const out = this.#git(fullPath, [
      'show',
      '-s',
      '--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%P%x00%B',
      sha,
    ]);
    const [id, an, ae, ad, cn, ce, cd, parents, ...rest] = out.split('\0');
    const message = rest.join('\0').replace(/\n+$/, '');
    return {
      id,
      short_id: id.slice(0, 8),
      title: message.split('\n')[0],
      message,
      author_name: an,
      author_email: ae,
      authored_date: ad,
      committer_name: cn,
      committer_email: ce,
      committed_date: cd,
      created_at: cd,
      parent_ids: parents.split(' ').filter(Boolean),
    };
  }

  /** Points `refs/heads/<branch>` at `sha` if it does not exist yet. */
  createBranch(fullPath: string, branch: string, sha: string): void {
    this.#git(fullPath, ['update-ref', `refs/heads/${branch}`, sha, ZERO_SHA]);
  }

  /** Deletes `refs/heads/<branch>` if it still points at `sha`. */
  deleteBranch(fullPath: string, branch: string, sha: string): void {
    this.#git(fullPath, ['update-ref', '-d', `refs/heads/${branch}`, sha]);
  }

  /** Makes `branch` the repository's HEAD (the branch a clone checks out). */
  setDefaultBranch(fullPath: string, branch: string): void {
    this.#git(fullPath, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  }

  /** Streams `git archive` of `sha` (optionally only `subPath`). */
  archive(
    fullPath: string,
    sha: string,
    opts: { format: 'tar' | 'tar.gz' | 'zip'; prefix: string; subPath?: string },
  ): ChildProcess {
    const args = ['archive', `--format=${opts.format}`, `--prefix=${opts.prefix}`, sha];
    if (opts.subPath) args.push('--', opts.subPath);
    return spawn('git', args, {
      env: this.#env(fullPath),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
}

/** True when git accepts `name` as a branch name. */
export function isValidBranchName(name: string): boolean {
  if (!name || name.startsWith('-')) return false;
  try {
    execFileSync('git', ['check-ref-format', `refs/heads/${name}`], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}
