import { ChildProcess, spawn } from 'node:child_process';
import { gitEnv, GitRepos, ZERO_SHA } from '../git';

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

/** One changed file, as GitLab's compare and merge request diffs list it. */
export interface FileDiff {
  old_path: string;
  new_path: string;
  a_mode: string;
  b_mode: string;
  diff: string;
  new_file: boolean;
  renamed_file: boolean;
  deleted_file: boolean;
  generated_file: boolean;
}

/**
 * Read-side git plumbing the API needs beyond {@link GitRepos}: trees with
 * object ids, commit metadata, history, refs, diffs and archives. Every
 * call runs `git` asynchronously with GIT_DIR set to the project's bare
 * repository.
 */
export class RepoGit {
  constructor(readonly repos: GitRepos) {}

  async #git(fullPath: string, args: string[]): Promise<string> {
    return (await this.repos.git(fullPath, args)).toString();
  }

  /** True when the repository has no branch at all. */
  async isEmpty(fullPath: string): Promise<boolean> {
    return (await this.branches(fullPath)).length === 0;
  }

  /** Every branch with the sha it points at, sorted by name. */
  async branches(fullPath: string): Promise<{ name: string; sha: string }[]> {
    if (!this.repos.exists(fullPath)) return [];
    return (await this.#git(fullPath, ['for-each-ref', '--format=%(objectname) %(refname:strip=2)', 'refs/heads']))
      .split('\n')
      .filter(Boolean)
      .map(line => ({ sha: line.slice(0, 40), name: line.slice(41) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Whole tree at `sha`, recursively, trees included (git's order). */
  async tree(fullPath: string, sha: string): Promise<TreeEntry[]> {
    const out = await this.#git(fullPath, ['ls-tree', '-r', '-t', '-z', '--full-tree', sha]);
    return out
      .split('\0')
      .filter(Boolean)
      .map(line => {
        const tab = line.indexOf('\t');
        const [mode, type, id] = line.slice(0, tab).split(' ');
        const entryPath = line.slice(tab + 1);
        return { id, name: entryPath.split('/').pop()!, type: type as TreeEntry['type'], path: entryPath, mode };
      });
  }

  /** Object id and mode of `filePath` at `sha` when it is a file, else undefined. */
  async blob(fullPath: string, sha: string, filePath: string): Promise<{ id: string; mode: string } | undefined> {
    try {
      const out = await this.#git(fullPath, ['ls-tree', '-z', '--full-tree', sha, '--', filePath]);
      const line = out.split('\0').find(l => l.slice(l.indexOf('\t') + 1) === filePath);
      if (!line) return undefined;
      const [mode, type, id] = line.slice(0, line.indexOf('\t')).split(' ');
      return type === 'blob' ? { id, mode } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Object id of `filePath` at `sha` when it is a file, else undefined. */
  async blobId(fullPath: string, sha: string, filePath: string): Promise<string | undefined> {
    return (await this.blob(fullPath, sha, filePath))?.id;
  }

  /** Content of the blob `blobId` (up to GIT_MAX_BUFFER). */
  readBlob(fullPath: string, blobId: string): Promise<Buffer> {
    return this.repos.git(fullPath, ['cat-file', 'blob', blobId]);
  }

  /** Content of the file `filePath` at `ref` (a branch, tag or sha), or undefined. */
  async readFile(fullPath: string, ref: string, filePath: string): Promise<Buffer | undefined> {
    try {
      return await this.repos.git(fullPath, ['cat-file', 'blob', `${ref}:${filePath}`]);
    } catch {
      return undefined;
    }
  }

  /** Shas of the history of `sha` (optionally only commits touching `filePath`), newest first. */
  async log(
    fullPath: string,
    sha: string,
    opts: { filePath?: string; skip?: number; max?: number; not?: string[]; reverse?: boolean } = {},
  ): Promise<string[]> {
    const args = ['rev-list'];
    if (opts.skip) args.push(`--skip=${opts.skip}`);
    if (opts.max !== undefined) args.push(`--max-count=${opts.max}`);
    if (opts.reverse) args.push('--reverse');
    args.push(sha, ...(opts.not ?? []).map(n => `^${n}`));
    if (opts.filePath) args.push('--', opts.filePath);
    return (await this.#git(fullPath, args)).split('\n').filter(Boolean);
  }

  async commitInfo(fullPath: string, sha: string): Promise<CommitInfo> {
    const out = await this.#git(fullPath, ['show', '-s', '--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%P%x00%B', sha]);
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

  /** Files added, modified and removed by commit `sha` (against its first parent). */
  async commitFiles(fullPath: string, sha: string): Promise<{ added: string[]; modified: string[]; removed: string[] }> {
    const out = await this.#git(fullPath, ['diff-tree', '-r', '-z', '--no-commit-id', '--root', '--name-status', sha]);
    const parts = out.split('\0').filter(Boolean);
    const result = { added: [] as string[], modified: [] as string[], removed: [] as string[] };
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const status = parts[i][0];
      if (status === 'A') result.added.push(parts[i + 1]);
      else if (status === 'D') result.removed.push(parts[i + 1]);
      else result.modified.push(parts[i + 1]);
    }
    return result;
  }

  /** The best common ancestor of two commits, or undefined. */
  async mergeBase(fullPath: string, a: string, b: string): Promise<string | undefined> {
    try {
      return (await this.#git(fullPath, ['merge-base', a, b])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The changes from `from` to `to`, as GitLab lists them: renames found,
   * `diff` holding the unified diff from its first `@@` hunk (empty for
   * binary files).
   */
  async diff(fullPath: string, from: string, to: string): Promise<FileDiff[]> {
    const raw = (await this.#git(fullPath, ['diff', '--raw', '-z', '-M', '--no-abbrev', from, to])).split('\0');
    const patch = await this.#git(fullPath, ['diff', '-M', '--no-color', '--no-ext-diff', from, to]);
    const chunks = patch.split(/^diff --git /m).slice(1);
    const diffs: FileDiff[] = [];
    for (let i = 0; i < raw.length - 1; ) {
      const meta = raw[i];
      if (!meta.startsWith(':')) {
        i++;
        continue;
      }
      const [aMode, bMode, , , status] = meta.slice(1).split(' ');
      const renamed = status.startsWith('R') || status.startsWith('C');
      const oldPath = raw[i + 1];
      const newPath = renamed ? raw[i + 2] : oldPath;
      i += renamed ? 3 : 2;
      const chunk = chunks[diffs.length] ?? '';
      const hunk = chunk.search(/^@@/m);
      diffs.push({
        old_path: oldPath,
        new_path: newPath,
        a_mode: aMode === '000000' ? '0' : aMode,
        b_mode: bMode === '000000' ? '0' : bMode,
        diff: hunk >= 0 ? chunk.slice(hunk) : '',
        new_file: status === 'A',
        renamed_file: status.startsWith('R'),
        deleted_file: status === 'D',
        generated_file: false,
      });
    }
    return diffs;
  }

  /** Every ref (`refs/heads/x`) with the sha it points at. */
  async refs(fullPath: string): Promise<Map<string, string>> {
    const out = await this.#git(fullPath, ['for-each-ref', '--format=%(objectname) %(refname)']);
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map(line => [line.slice(41), line.slice(0, 40)] as [string, string]),
    );
  }

  /** Points `refs/heads/<branch>` at `sha` if it does not exist yet. */
  async createBranch(fullPath: string, branch: string, sha: string): Promise<void> {
    await this.#git(fullPath, ['update-ref', `refs/heads/${branch}`, sha, ZERO_SHA]);
  }

  /** Deletes `refs/heads/<branch>` if it still points at `sha`. */
  async deleteBranch(fullPath: string, branch: string, sha: string): Promise<void> {
    await this.#git(fullPath, ['update-ref', '-d', `refs/heads/${branch}`, sha]);
  }

  /** Makes `branch` the repository's HEAD (the branch a clone checks out). */
  async setDefaultBranch(fullPath: string, branch: string): Promise<void> {
    await this.#git(fullPath, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  }

  /** Streams `git archive` of `sha` (optionally only `subPath`). */
  archive(
    fullPath: string,
    sha: string,
    opts: { format: 'tar' | 'tar.gz' | 'zip'; prefix: string; subPath?: string },
  ): ChildProcess {
    const args = ['archive', `--format=${opts.format}`, `--prefix=${opts.prefix}`, sha];
    if (opts.subPath) args.push('--', opts.subPath);
    return spawn('git', args, { env: gitEnv(this.repos.dirFor(fullPath)), stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/**
 * True when git accepts `name` as a branch name (the rules of
 * `git check-ref-format refs/heads/<name>`, without running git).
 */
export async function isValidBranchName(name: string): Promise<boolean> {
  if (!name || name.startsWith('-') || name === '@' || name.endsWith('/') || name.endsWith('.')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\//.test(name)) return false;
  return name.split('/').every(part => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}
