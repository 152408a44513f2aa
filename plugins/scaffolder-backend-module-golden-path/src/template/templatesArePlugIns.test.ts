import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import { findRepoRoot } from './__testUtils__/paths';

/**
 * "Add a golden path without changing the platform": nothing under
 * plugins/ or packages/ (apart from tests) may know which templates exist.
 * Templates are discovered by a glob, and whatever differs between runtimes
 * is declared by the template. If this fails, a template-specific branch
 * crept into the code: move that difference into the template's runtime
 * block (templates/README.md) instead.
 */

const root = findRepoRoot();
const templateIds = fs
  .readdirSync(path.join(root, 'templates'), { withFileTypes: true })
  .filter(d => d.isDirectory() && fs.existsSync(path.join(root, 'templates', d.name, 'template.yaml')))
  .map(d => d.name);

/** Production source: everything the backend or app bundles, not tests or test helpers. */
function productionSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (['node_modules', 'dist', 'dist-types', '__testUtils__', 'testUtils', 'e2e', 'bench'].includes(e.name)) continue;
        walk(p);
      } else if (/\.(ts|tsx|js)$/.test(e.name) && !/\.(test|examples)\.tsx?$/.test(e.name)) {
        out.push(p);
      }
    }
  };
  for (const top of ['plugins', 'packages']) {
    for (const pkg of fs.readdirSync(path.join(root, top))) {
      const src = path.join(root, top, pkg, 'src');
      if (fs.existsSync(src)) walk(src);
    }
  }
  return out;
}

/** What would only appear in code that special-cases a template. */
function fingerprints(id: string): RegExp[] {
  const template = yaml.parse(fs.readFileSync(path.join(root, 'templates', id, 'template.yaml'), 'utf8'));
  const runtimes = JSON.stringify(template).match(/"runtime":\{"name":"([a-z0-9-]+)"/g) ?? [];
  const names = runtimes.map(r => r.replace(/.*"name":"/, '').replace(/"$/, ''));
  return [
    new RegExp(`\\b${id}\\b`),
    new RegExp(`\\b${template.metadata.name}\\b`),
    // A runtime name as a value compared or switched on, e.g. runtime === 'python'.
    ...names.map(n => new RegExp(`['"]${n}['"]`)),
  ];
}

describe('golden paths are plug-ins', () => {
  it('finds at least two templates to check', () => {
    expect(templateIds.length).toBeGreaterThanOrEqual(2);
  });

  it.each(templateIds)('no production code under plugins/ or packages/ knows the template %s', id => {
    const hits = productionSources().flatMap(file => {
      const text = fs.readFileSync(file, 'utf8');
      return fingerprints(id)
        .filter(re => re.test(text))
        .map(re => `${path.relative(root, file)} matches ${re}`);
    });
    expect(hits).toEqual([]);
  });

  it('discovers templates by a glob in every config and ships the whole folder in the image', () => {
    for (const file of ['app-config.yaml', 'app-config.production.yaml']) {
      const config = yaml.parse(fs.readFileSync(path.join(root, file), 'utf8'));
      const targets: string[] = config.catalog.locations
        .filter((l: { type: string; target: string }) => l.target.includes('templates'))
        .map((l: { target: string }) => l.target);
      expect({ file, targets }).toEqual({ file, targets: [expect.stringMatching(/templates\/\*\/template\.yaml$/)] });
    }
    expect(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^COPY .*\btemplates \.\/templates$/m);
  });
});
