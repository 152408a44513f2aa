import fs from 'node:fs';
import path from 'node:path';

// No Docker engine runs here, so this checks the Dockerfile statically:
// everything it copies exists (the build outputs after `yarn build:backend`),
// and the runtime stage has the properties we promise.
const REPO_ROOT = path.resolve(__dirname, '../../..');
const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

interface Instruction {
  stage: number;
  op: string;
  args: string;
}

/** Parses the Dockerfile into instructions, joining continuation lines. */
function parse(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const result: Instruction[] = [];
  let stage = -1;
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    if (op.toUpperCase() === 'FROM') stage += 1;
    result.push({ stage, op: op.toUpperCase(), args: rest.join(' ') });
  }
  return result;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

function copies(instructions: Instruction[]): Copy[] {
  return instructions
    .filter(i => i.op === 'COPY')
    .map(i => {
      const words = i.args.split(/\s+/);
      const flags = words.filter(w => w.startsWith('--'));
      const paths = words.filter(w => !w.startsWith('--'));
      const from = flags.find(f => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });
}

const instructions = parse(dockerfile);
const stageNames = instructions
  .filter(i => i.op === 'FROM')
  .map(i => i.args.split(/\s+AS\s+/i)[1]);
const ignored = fs
  .readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map(l => l.trim())
  .filter(l => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('has build, deps and runtime stages, all pinned to linux/amd64', () => {
    const froms = instructions.filter(i => i.op === 'FROM');
    expect(froms.length).toBe(3);
    for (const from of froms) {
      expect(from.args).toMatch(/^--platform=linux\/amd64 /);
    }
    const image = instructions.find(i => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(image?.args).toMatch(/^NODE_IMAGE=node:22-[a-z]+-slim$/);
  });

  it('type-checks and builds the backend bundle in the build stage', () => {
    const runs = instructions.filter(i => i.stage === 0 && i.op === 'RUN').map(i => i.args).join('\n');
    expect(runs).toMatch(/install --immutable/);
    expect(runs).toMatch(/ tsc/);
    expect(runs).toMatch(/build:backend/);
  });

  it('installs production dependencies only for the runtime', () => {
    const runs = instructions.filter(i => i.stage === 1 && i.op === 'RUN').map(i => i.args).join('\n');
    expect(runs).toMatch(/workspaces focus --all --production/);
  });

  it('runs as a non-root user with the production config alone', () => {
    const runtime = instructions.filter(i => i.stage === 2);
    expect(runtime.find(i => i.op === 'USER')?.args).toBe('node');
    expect(runtime.find(i => i.op === 'ENV')?.args).toBe('NODE_ENV=production');
    const cmd = JSON.parse(runtime.find(i => i.op === 'CMD')!.args);
    expect(cmd).toEqual(['node', 'packages/backend', '--config', 'app-config.production.yaml']);
  });

  it('refers to the committed yarn release', () => {
    const releases = [...dockerfile.matchAll(/\.yarn\/releases\/(yarn-[\d.]+\.cjs)/g)].map(m => m[1]);
    expect(releases.length).toBeGreaterThan(0);
    for (const release of new Set(releases)) {
      expect(fs.existsSync(path.join(REPO_ROOT, '.yarn/releases', release))).toBe(true);
    }
  });

  it.each(copies(instructions).filter(c => !c.from).flatMap(c => c.sources))(
    'copies %s from the build context, which exists and is not ignored',
    source => {
      expect(fs.existsSync(path.join(REPO_ROOT, source))).toBe(true);
      expect(ignored).not.toContain(source.replace(/\/$/, ''));
    },
  );

  it.each(
    copies(instructions)
      .filter(c => c.from === 'build')
      .flatMap(c => c.sources),
  )('copies %s from the build stage, which the backend build produces', source => {
    expect(stageNames).toContain('build');
    // The build stage works in /app, a copy of the repository.
    const local = path.join(REPO_ROOT, path.relative('/app', source));
    if (!fs.existsSync(local)) {
      throw new Error(`${local} does not exist: run \`yarn build:backend\` first (scripts/test does)`);
    }
    expect(fs.statSync(local).size).toBeGreaterThan(0);
  });
});
