import { SERVICE_RECORD_PATH } from '@internal/plugin-golden-path-common';
import {
  DEPLOYMENT_MANIFEST_PATH,
  ServiceRecord,
  renderedFileHash,
} from '../render/record';
import { RuntimeProfile } from '../render/runtime';
import {
  changesOf,
  pathsNeedingBase,
  planUpgrade,
  UpgradeInputs,
} from './planUpgrade';

const labels = { ours: 'main (edited by hand)', theirs: 'golden path' };

/** A record of what the platform rendered last time. */
function recordOf(files: Record<string, string>): ServiceRecord {
  return {
    renderVersion: 1,
    request: { name: 'payments-api', owner: 'group:default/team-a', description: '', port: 3000, replicas: 2 },
    runtime: {} as RuntimeProfile,
    files: Object.fromEntries(
      Object.entries(files).map(([path, content]) => [path, renderedFileHash(path, content)]),
    ),
  };
}

const deployment = (labelLines: string, tag = 'initial') =>
  [
    'kind: Deployment',
    'metadata:',
    '  labels:',
    '    app: payments-api',
    ...(labelLines ? [labelLines] : []),
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    `    image: 123.dkr.ecr.eu-west-1.amazonaws.com/payments-api:${tag}`,
    '',
  ].join('\n');

const OLD = deployment('');
const NEW = deployment('    cost-center: cc-42');

function plan(inputs: Partial<UpgradeInputs> & Pick<UpgradeInputs, 'main' | 'rendered'>) {
  const outcomes = planUpgrade({
    record: recordOf({ [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n' }),
    labels,
    ...inputs,
  });
  return Object.fromEntries(outcomes.map(o => [o.path, o]));
}

describe('planUpgrade', () => {
  it('updates a file nobody edited to the new render', () => {
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n' },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: NEW },
        { path: 'manifests/service.yaml', content: 'kind: Service\n' },
      ],
    });
    expect(out[DEPLOYMENT_MANIFEST_PATH]).toEqual({ path: DEPLOYMENT_MANIFEST_PATH, kind: 'update', content: NEW });
    expect(out['manifests/service.yaml'].kind).toBe('unchanged');
  });

  it("does not count CI's image tag as an edit by hand", () => {
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: deployment('', 'abc123'), 'manifests/service.yaml': 'kind: Service\n' },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: deployment('    cost-center: cc-42', 'abc123') },
        { path: 'manifests/service.yaml', content: 'kind: Service\n' },
      ],
    });
    expect(out[DEPLOYMENT_MANIFEST_PATH].kind).toBe('update');
  });

  it('adds a newly rendered file and removes one no longer rendered', () => {
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n' },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: OLD },
        { path: 'manifests/pdb.yaml', content: 'kind: PodDisruptionBudget\n' },
      ],
    });
    expect(out['manifests/pdb.yaml']).toMatchObject({ kind: 'create' });
    expect(out['manifests/service.yaml']).toEqual({ path: 'manifests/service.yaml', kind: 'delete' });
    expect(out[DEPLOYMENT_MANIFEST_PATH].kind).toBe('unchanged');
  });

  it('keeps a hand edit the new render does not touch', () => {
    const edited = 'kind: Service\n# tuned by hand\n';
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': edited },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: OLD },
        { path: 'manifests/service.yaml', content: 'kind: Service\n' },
      ],
    });
    expect(out['manifests/service.yaml']).toMatchObject({ kind: 'kept' });
  });

  it('keeps a file edited by hand that is no longer rendered', () => {
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n# mine\n' },
      rendered: [{ path: DEPLOYMENT_MANIFEST_PATH, content: OLD }],
    });
    expect(out['manifests/service.yaml']).toMatchObject({ kind: 'kept' });
  });

  it('merges a hand edit elsewhere in the file with the new render, given the last render', () => {
    const edited = OLD.replace('  template:', '  minReadySeconds: 10\n  template:');
    const inputs = {
      main: { [DEPLOYMENT_MANIFEST_PATH]: edited, 'manifests/service.yaml': 'kind: Service\n' },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: NEW },
        { path: 'manifests/service.yaml', content: 'kind: Service\n' },
      ],
    };
    const record = recordOf({ [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n' });
    expect(pathsNeedingBase({ record, ...inputs })).toEqual([DEPLOYMENT_MANIFEST_PATH]);
    const out = plan({ ...inputs, bases: { [DEPLOYMENT_MANIFEST_PATH]: OLD } });
    expect(out[DEPLOYMENT_MANIFEST_PATH]).toEqual({
      path: DEPLOYMENT_MANIFEST_PATH,
      kind: 'merged',
      content: NEW.replace('  template:', '  minReadySeconds: 10\n  template:'),
    });
  });

  it('shows a conflict, never overwriting, when the hand edit and the new render change the same lines', () => {
    const edited = deployment('    team-note: by hand');
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: edited, 'manifests/service.yaml': 'kind: Service\n' },
      rendered: [{ path: DEPLOYMENT_MANIFEST_PATH, content: NEW }],
      bases: { [DEPLOYMENT_MANIFEST_PATH]: OLD },
    });
    const outcome = out[DEPLOYMENT_MANIFEST_PATH];
    expect(outcome).toMatchObject({ kind: 'conflict', conflicts: 1 });
    const content = (outcome as { content: string }).content;
    expect(content).toContain('<<<<<<< main (edited by hand)\n    team-note: by hand\n=======\n    cost-center: cc-42\n>>>>>>> golden path\n');
  });

  it('ignores a base that is not what the record says was rendered (whole differences become conflicts)', () => {
    const edited = OLD.replace('  template:', '  minReadySeconds: 10\n  template:');
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: edited },
      rendered: [{ path: DEPLOYMENT_MANIFEST_PATH, content: NEW }],
      bases: { [DEPLOYMENT_MANIFEST_PATH]: 'something else\n' },
    });
    expect(out[DEPLOYMENT_MANIFEST_PATH]).toMatchObject({ kind: 'conflict', conflicts: 2 });
  });

  it('treats a file the platform never rendered, at a path it now renders, as a conflict', () => {
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/pdb.yaml': 'mine: true\n' },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: OLD },
        { path: 'manifests/pdb.yaml', content: 'kind: PodDisruptionBudget\n' },
      ],
    });
    expect(out['manifests/pdb.yaml']).toMatchObject({ kind: 'conflict', conflicts: 1 });
  });

  it('always rewrites the record, and changes nothing when main already holds the render', () => {
    const record = '{"renderVersion":1}\n';
    const unchanged = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n', [SERVICE_RECORD_PATH]: record },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: OLD },
        { path: 'manifests/service.yaml', content: 'kind: Service\n' },
        { path: SERVICE_RECORD_PATH, content: record },
      ],
    });
    expect(changesOf(Object.values(unchanged))).toEqual([]);
    const rewritten = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, [SERVICE_RECORD_PATH]: 'edited by hand' },
      rendered: [
        { path: DEPLOYMENT_MANIFEST_PATH, content: OLD },
        { path: SERVICE_RECORD_PATH, content: record },
      ],
    });
    expect(rewritten[SERVICE_RECORD_PATH]).toEqual({ path: SERVICE_RECORD_PATH, kind: 'update', content: record });
  });

  it('leaves files the platform never rendered alone', () => {
    const out = plan({
      main: { [DEPLOYMENT_MANIFEST_PATH]: OLD, 'manifests/service.yaml': 'kind: Service\n', 'notes.md': 'mine' },
      rendered: [{ path: DEPLOYMENT_MANIFEST_PATH, content: NEW }],
    });
    expect(out['notes.md']).toBeUndefined();
  });
});
