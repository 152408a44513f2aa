import fs from 'node:fs';
import path from 'node:path';

/**
 * The monorepo root: the nearest folder above `start` with a yarn.lock.
 * Test-only: Jest runs this file from source, so `__dirname` is this folder
 * of the checkout.
 */
// eslint-disable-next-line no-restricted-syntax
export function findRepoRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'yarn.lock'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`No yarn.lock found in ${start} or any folder above it`);
    }
    dir = parent;
  }
}

export const repoRoot = findRepoRoot();

/** The golden-path Node.js template (template.yaml and skeleton/). */
export const templateDir = path.join(repoRoot, 'templates', 'nodejs-service');
export const templateFile = path.join(templateDir, 'template.yaml');
export const skeletonDir = path.join(templateDir, 'skeleton');

/**
 * The upstream schema kit, `shared/conformance` beside the repository.
 * Throws a clear error when it is missing.
 */
export function conformancePath(...parts: string[]): string {
  const dir = path.resolve(repoRoot, '..', 'shared', 'conformance');
  const file = path.join(dir, ...parts);
  if (!fs.existsSync(file)) {
    throw new Error(
      `Conformance file ${file} is missing. These tests expect the schema kit ` +
        `in shared/conformance next to the repository folder (${repoRoot}); ` +
        `see shared/conformance/README.md.`,
    );
  }
  return file;
}
