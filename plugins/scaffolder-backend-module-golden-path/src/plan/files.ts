import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * A file of a repository, byte-exact: text as text, anything else (images,
 * archives, a file with invalid UTF-8) as base64, and the executable bit.
 */
export interface RepoFile {
  /** Path relative to the repository root, `/`-separated. */
  path: string;
  content: string;
  encoding: 'text' | 'base64';
  executable?: boolean;
}

/** True when `bytes` round-trips through UTF-8 unchanged (and has no NUL). */
function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false;
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/** A file from its bytes, as text when that is exact, else base64. */
export function repoFile(
  filePath: string,
  bytes: Buffer,
  executable = false,
): RepoFile {
  const text = isText(bytes);
  return {
    path: filePath,
    content: text ? bytes.toString('utf8') : bytes.toString('base64'),
    encoding: text ? 'text' : 'base64',
    ...(executable ? { executable: true } : {}),
  };
}

/** The file's bytes. */
export function fileBytes(file: RepoFile): Buffer {
  return Buffer.from(file.content, file.encoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * Every regular file under `dir` (skipping `.git`), byte-exact with its
 * executable bit, sorted by path. Symbolic links are refused: a skeleton
 * must not point outside itself.
 */
export async function readTree(dir: string): Promise<RepoFile[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const files: RepoFile[] = [];
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (rel === '.git' || rel.startsWith('.git/')) continue;
    if (entry.isSymbolicLink()) {
      throw new Error(`${rel} is a symbolic link; skeletons may hold regular files only`);
    }
    if (!entry.isFile()) continue;
    const stat = await fs.stat(full);
    // eslint-disable-next-line no-bitwise
    const executable = (stat.mode & 0o111) !== 0;
    files.push(repoFile(rel, await fs.readFile(full), executable));
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Writes files under `dir` (used to show a plan in the template editor's dry run). */
export async function writeTree(dir: string, files: RepoFile[]): Promise<void> {
  for (const file of files) {
    const target = path.join(dir, ...file.path.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, fileBytes(file), {
      mode: file.executable ? 0o755 : 0o644,
    });
  }
}
