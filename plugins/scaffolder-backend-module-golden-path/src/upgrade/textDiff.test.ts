import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { diffRegions, merge3, splitLines, unifiedDiff } from './textDiff';

const labels = { ours: 'main (edited by hand)', theirs: 'golden path' };

/** Small files from few distinct lines, so diffs have many equal lines to align. */
const file = fc
  .array(fc.constantFrom('a', 'b', 'c', 'd', 'labels:', '  x: 1', ''), {
    maxLength: 14,
  })
  .chain(lines =>
    fc
      .boolean()
      .map(finalNewline =>
        lines.length ? `${lines.join('\n')}${finalNewline ? '\n' : ''}` : '',
      ),
  );

/** Longest common subsequence length, by dynamic programming (the reference). */
function lcs(a: string[], b: string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      t[i][j] = a[i - 1] === b[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
    }
  }
  return t[a.length][b.length];
}

/** Resolves every conflict block of `text` by keeping one side. */
function resolve(text: string, side: 'ours' | 'theirs'): string {
  return text.replace(
    /^<<<<<<< .*\n([\s\S]*?)^=======\n([\s\S]*?)^>>>>>>> .*\n/gm,
    (_m, ours: string, theirs: string) => (side === 'ours' ? ours : theirs),
  );
}

describe('splitLines', () => {
  it.each([
    ['', []],
    ['a', ['a']],
    ['a\n', ['a\n']],
    ['a\nb', ['a\n', 'b']],
    ['a\n\n', ['a\n', '\n']],
  ])('splits %j into %j', (text, lines) => {
    expect(splitLines(text)).toEqual(lines);
    expect(splitLines(text).join('')).toBe(text);
  });
});

describe('diffRegions', () => {
  it('finds a shortest edit: the lines it keeps are a longest common subsequence (property)', () => {
    fc.assert(
      fc.property(file, file, (x, y) => {
        const a = splitLines(x);
        const b = splitLines(y);
        const regions = diffRegions(a, b);
        // Rebuild b from a and the regions.
        const rebuilt: string[] = [];
        let i = 0;
        for (const r of regions) {
          rebuilt.push(...a.slice(i, r.aStart), ...b.slice(r.bStart, r.bEnd));
          i = r.aEnd;
        }
        rebuilt.push(...a.slice(i));
        expect(rebuilt).toEqual(b);
        const removed = regions.reduce((n, r) => n + r.aEnd - r.aStart, 0);
        expect(a.length - removed).toBe(lcs(a, b));
      }),
      { numRuns: 300 },
    );
  });
});

describe('unifiedDiff', () => {
  it('writes a git-style hunk with three lines of context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    expect(unifiedDiff('x.yaml', before, after)).toBe(
      '--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n',
    );
  });

  it('names /dev/null for a new or removed file, and is empty for no change', () => {
    expect(unifiedDiff('n.txt', undefined, 'x\n')).toBe('--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+x\n');
    expect(unifiedDiff('n.txt', 'x\n', undefined)).toBe('--- a/n.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n');
    expect(unifiedDiff('n.txt', 'x\n', 'x\n')).toBe('');
  });

  it('is a patch git applies to get exactly the new file (property, real git)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-diff-'));
    try {
      fc.assert(
        fc.property(file, file, (before, after) => {
          fc.pre(before !== after);
          const target = path.join(dir, 'f.txt');
          fs.writeFileSync(target, before);
          fs.writeFileSync(path.join(dir, 'p.diff'), unifiedDiff('f.txt', before, after));
          execFileSync('git', ['apply', 'p.diff'], {
            cwd: dir,
            stdio: 'pipe',
          });
          // An emptied file is deleted by git apply.
          const result = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
          expect(result).toBe(after);
        }),
        { numRuns: 60 },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('merge3', () => {
  const base = 'kind: Deployment\nmetadata:\n  labels:\n    app: x\nspec:\n  replicas: 2\n';

  it('takes a change made on one side only', () => {
    const theirs = base.replace('    app: x\n', '    app: x\n    cost-center: cc-42\n');
    const ours = base.replace('replicas: 2', 'replicas: 5');
    expect(merge3(base, ours, theirs, labels)).toEqual({
      text: 'kind: Deployment\nmetadata:\n  labels:\n    app: x\n    cost-center: cc-42\nspec:\n  replicas: 5\n',
      conflicts: 0,
    });
  });

  it('takes the same change made on both sides once', () => {
    const both = base.replace('replicas: 2', 'replicas: 3');
    expect(merge3(base, both, both, labels)).toEqual({ text: both, conflicts: 0 });
  });

  it('marks changes at the same place as a conflict, around the differing lines only', () => {
    const ours = base.replace('    app: x\n', '    app: x\n    team-note: by hand\n');
    const theirs = base.replace('    app: x\n', '    app: x\n    cost-center: cc-42\n');
    expect(merge3(base, ours, theirs, labels)).toEqual({
      text: [
        'kind: Deployment',
        'metadata:',
        '  labels:',
        '    app: x',
        '<<<<<<< main (edited by hand)',
        '    team-note: by hand',
        '=======',
        '    cost-center: cc-42',
        '>>>>>>> golden path',
        'spec:',
        '  replicas: 2',
        '',
      ].join('\n'),
      conflicts: 1,
    });
  });

  it('without a base, marks every difference and keeps the shared lines outside the markers', () => {
    const result = merge3(undefined, 'a\nb\nc\n', 'a\nB\nc\n', labels);
    expect(result).toEqual({
      text: 'a\n<<<<<<< main (edited by hand)\nb\n=======\nB\n>>>>>>> golden path\nc\n',
      conflicts: 1,
    });
  });

  it('with one side unchanged, gives the other side exactly (property)', () => {
    fc.assert(
      fc.property(file, file, (b, other) => {
        expect(merge3(b, b, other, labels)).toEqual({ text: other, conflicts: 0 });
        expect(merge3(b, other, b, labels)).toEqual({ text: other, conflicts: 0 });
      }),
      { numRuns: 300 },
    );
  });

  it('never loses a side: resolving every conflict one way gives that side (property, no base)', () => {
    const withNewline = file.map(t => (t === '' || t.endsWith('\n') ? t : `${t}\n`));
    fc.assert(
      fc.property(withNewline, withNewline, (ours, theirs) => {
        const { text, conflicts } = merge3(undefined, ours, theirs, labels);
        expect(conflicts === 0).toBe(ours === theirs);
        expect(resolve(text, 'ours')).toBe(ours);
        expect(resolve(text, 'theirs')).toBe(theirs);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with git merge-file on whether a merge is clean, and on the clean result (property, real git)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-merge-'));
    const withNewline = file.map(t => (t === '' || t.endsWith('\n') ? t : `${t}\n`));
    try {
      fc.assert(
        fc.property(withNewline, withNewline, withNewline, (b, ours, theirs) => {
          fs.writeFileSync(path.join(dir, 'ours'), ours);
          fs.writeFileSync(path.join(dir, 'base'), b);
          fs.writeFileSync(path.join(dir, 'theirs'), theirs);
          let gitText: string;
          let gitClean: boolean;
          try {
            gitText = execFileSync('git', ['merge-file', '-p', 'ours', 'base', 'theirs'], {
              cwd: dir,
              stdio: 'pipe',
            }).toString();
            gitClean = true;
          } catch (error) {
            gitText = String((error as { stdout: Buffer }).stdout);
            gitClean = false;
          }
          const ourResult = merge3(b, ours, theirs, labels);
          // git resolves a few more cases cleanly (it refines hunks); when
          // we call a merge clean, git must too, with the same text.
          const clean = ourResult.conflicts === 0;
          expect(clean ? [gitClean, ourResult.text] : [true, gitText]).toEqual([true, gitText]);
        }),
        { numRuns: 150 },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
