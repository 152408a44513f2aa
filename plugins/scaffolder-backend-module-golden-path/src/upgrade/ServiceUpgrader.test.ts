import { mockServices } from '@backstage/backend-test-utils';
import {
  GOLDEN_PATH_TOPIC,
  RUN_MARKER_KEY,
  SERVICE_RECORD_PATH,
  UPGRADE_BRANCH,
  runMarkerTopic,
} from '@internal/plugin-golden-path-common';
import { TEST_SETTINGS } from '../__testUtils__/goldenPathRun';
import { planService, withMarker } from '../plan/ServicePlan';
import { DEPLOYMENT_MANIFEST_PATH, parseServiceRecord } from '../render/record';
import { PlatformSettings } from '../render/types';
import { ServiceUpgrader, upgradeFingerprintOf } from './ServiceUpgrader';
import { UpgradeWorld } from './__testUtils__/upgradeWorld';

const NOW = new Date('2026-01-01T00:00:00Z');
const INGRESS = 'manifests/ingress.yaml';
/** A render change: the shared load balancer group is renamed. */
const RENAMED: PlatformSettings = { ...TEST_SETTINGS, albGroupName: 'shared-v2' };

/** Seeds `world` with a service as Create leaves it; returns its target and GitOps path. */
function create(world: UpgradeWorld, name: string, settings = TEST_SETTINGS) {
  const marker = `marker-${name}`;
  const plan = planService(
    settings,
    { name, owner: 'group:default/team-a', description: 'A service' },
    { marker, now: NOW },
  );
  const path = plan.names.gitopsRepoPath;
  world.addProject(path, [GOLDEN_PATH_TOPIC, runMarkerTopic(marker)], plan.gitops.files);
  world.namespaces.set(name, { [RUN_MARKER_KEY]: marker });
  world.argo.projects.set(name, withMarker(plan.argocd.project, marker));
  world.argo.applications.set(name, withMarker(plan.argocd.application, marker));
  return { target: { name, entityRef: `component:default/${name}`, marker }, path };
}

function upgrader(world: UpgradeWorld, settings = RENAMED) {
  return new ServiceUpgrader({
    settings,
    clients: world.clients,
    logger: mockServices.logger.mock(),
    now: () => NOW,
  });
}

/** What the upgrade branch changes against main, per file. */
function branchChanges(world: UpgradeWorld, path: string) {
  const main = world.filesOf(path);
  const branch = world.filesOf(path, UPGRADE_BRANCH);
  return [...new Set([...main.keys(), ...branch.keys()])]
    .filter(f => main.get(f) !== branch.get(f))
    .sort();
}

describe('ServiceUpgrader', () => {
  it('opens one merge request with exactly the change, then reports unchanged on a second run', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    const [first] = await upgrader(world).upgradeAll([target], { dryRun: false });
    expect(first).toMatchObject({ status: 'opened', mergeRequest: { iid: 1 } });
    expect(branchChanges(world, path)).toEqual([SERVICE_RECORD_PATH, INGRESS]);
    expect(world.filesOf(path, UPGRADE_BRANCH).get(INGRESS)).toContain('group.name: shared-v2');
    // main itself is untouched: only a merge request proposes the change.
    expect(world.filesOf(path).get(INGRESS)).toContain('group.name: shared');
    expect(world.filesOf(path).get(INGRESS)).not.toContain('shared-v2');

    const before = world.writes.filter(w => w === 'commitChanges').length;
    const [second] = await upgrader(world).upgradeAll([target], { dryRun: false });
    expect(second).toMatchObject({ status: 'unchanged', mergeRequest: { iid: 1 } });
    expect(world.writes.filter(w => w === 'commitChanges')).toHaveLength(before);
    expect(world.projects.get(path)!.mergeRequests).toHaveLength(1);
  });

  it('updates the open merge request (replacing its branch on top of main) when the difference changes', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    await upgrader(world).upgrade(target, { dryRun: false });
    const mainHead = world.editByHand(path, { 'notes.md': 'our own file\n' });
    const result = await upgrader(world, { ...RENAMED, albGroupName: 'shared-v3' }).upgrade(target, { dryRun: false });
    expect(result).toMatchObject({ status: 'updated', mergeRequest: { iid: 1 } });
    const project = world.projects.get(path)!;
    expect(project.mergeRequests).toHaveLength(1);
    const head = world.commits.get(project.branches.get(UPGRADE_BRANCH)!)!;
    expect(head.parentIds).toEqual([mainHead]);
    expect(head.files.get(INGRESS)).toContain('group.name: shared-v3');
    expect(head.files.get('notes.md')).toBe('our own file\n');
  });

  it('records the new render in the record file', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    await upgrader(world).upgrade(target, { dryRun: false });
    const record = parseServiceRecord(world.filesOf(path, UPGRADE_BRANCH).get(SERVICE_RECORD_PATH)!);
    const old = parseServiceRecord(world.filesOf(path).get(SERVICE_RECORD_PATH)!);
    expect(record.request).toEqual(old.request);
    expect(record.files[INGRESS]).not.toBe(old.files[INGRESS]);
    expect(record.files[DEPLOYMENT_MANIFEST_PATH]).toBe(old.files[DEPLOYMENT_MANIFEST_PATH]);
  });

  it('keeps the image tag CI deployed', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    const deployed = world.filesOf(path).get(DEPLOYMENT_MANIFEST_PATH)!.replace(/:initial$/m, ':0a1b2c3d');
    world.editByHand(path, { [DEPLOYMENT_MANIFEST_PATH]: deployed });
    await upgrader(world).upgrade(target, { dryRun: false });
    expect(branchChanges(world, path)).toEqual([SERVICE_RECORD_PATH, INGRESS]);
  });

  it('shows a conflict instead of overwriting a hand edit of the same lines, as a draft merge request', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    const edited = world.filesOf(path).get(INGRESS)!.replace('group.name: shared', 'group.name: team-a-alb');
    world.editByHand(path, { [INGRESS]: edited });
    const result = await upgrader(world).upgrade(target, { dryRun: false });
    expect(result.status).toBe('opened');
    expect(result.files).toContainEqual({ path: INGRESS, kind: 'conflict', note: '1 place marked' });
    const proposed = world.filesOf(path, UPGRADE_BRANCH).get(INGRESS)!;
    expect(proposed).toMatch(/<<<<<<< main \(edited by hand\)\n.*group\.name: team-a-alb\n=======\n.*group\.name: shared-v2\n>>>>>>> golden path/);
    const mr = world.projects.get(path)!.mergeRequests[0];
    expect(mr.title).toMatch(/^Draft: /);
    expect(mr.description).toContain(`- \`${INGRESS}\``);
    expect(world.filesOf(path).get(INGRESS)).toBe(edited);
  });

  it('merges a hand edit elsewhere in a file the render changes', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    const original = world.filesOf(path).get(INGRESS)!;
    const edited = `${original}# reviewed by the payments team\n`;
    world.editByHand(path, { [INGRESS]: edited });
    const result = await upgrader(world).upgrade(target, { dryRun: false });
    expect(result.files).toContainEqual({ path: INGRESS, kind: 'merged' });
    const proposed = world.filesOf(path, UPGRADE_BRANCH).get(INGRESS)!;
    expect(proposed).toContain('group.name: shared-v2');
    expect(proposed).toContain('# reviewed by the payments team\n');
    expect(world.projects.get(path)!.mergeRequests[0].title).not.toMatch(/^Draft/);
  });

  it('changes nothing in a dry run, and shows the unified diff', async () => {
    const world = new UpgradeWorld();
    const { target } = create(world, 'payments-api');
    const [result] = await upgrader(world).upgradeAll([target], { dryRun: true });
    expect(result.status).toBe('would-upgrade');
    expect(result.diff).toContain(`--- a/${INGRESS}\n+++ b/${INGRESS}\n`);
    expect(result.diff).toMatch(/^-\s+alb\.ingress\.kubernetes\.io\/group\.name: shared$/m);
    expect(result.diff).toMatch(/^\+\s+alb\.ingress\.kubernetes\.io\/group\.name: shared-v2$/m);
    expect(world.writes).toEqual([]);
  });

  it('reports per service: no record, not ours and a failure do not stop the others', async () => {
    const world = new UpgradeWorld();
    const ok = create(world, 'payments-api');
    const noRecord = create(world, 'orders-api');
    world.editByHand(noRecord.path, { [SERVICE_RECORD_PATH]: undefined });
    const foreign = create(world, 'billing-api');
    world.projects.get(foreign.path)!.topics = [GOLDEN_PATH_TOPIC];
    const missing = { name: 'ghost-api', entityRef: 'component:default/ghost-api', marker: 'm' };
    const results = await upgrader(world).upgradeAll(
      [ok.target, noRecord.target, foreign.target, missing],
      { dryRun: false },
    );
    expect(results.map(r => [r.service, r.status])).toEqual([
      ['payments-api', 'opened'],
      ['orders-api', 'skipped'],
      ['billing-api', 'skipped'],
      ['ghost-api', 'failed'],
    ]);
    expect(results[1].detail).toMatch(/No record/);
    expect(results[2].detail).toMatch(/does not carry this service's run marker/);
    expect(results[3].detail).toMatch(/No GitOps repository platform\/gitops\/ghost-api-gitops/);
    expect(world.projects.get(foreign.path)!.mergeRequests).toEqual([]);
  });

  it('reports an error as failed with its message and goes on', async () => {
    const world = new UpgradeWorld();
    const a = create(world, 'payments-api');
    world.failing.set('listTree', new Error('GitLab is down'));
    const [result] = await upgrader(world).upgradeAll([a.target], { dryRun: false });
    expect(result).toMatchObject({ status: 'failed', detail: 'GitLab is down' });
  });

  it('leaves a branch someone else pushed to alone', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    await upgrader(world).upgrade(target, { dryRun: false });
    world.editByHand(path, { [INGRESS]: 'resolved by hand\n' }, UPGRADE_BRANCH);
    const result = await upgrader(world, { ...RENAMED, albGroupName: 'shared-v3' }).upgrade(target, { dryRun: false });
    expect(result.status).toBe('skipped');
    expect(result.detail).toMatch(/has commits the upgrade did not make \(merge request !1\)/);
    expect(world.filesOf(path, UPGRADE_BRANCH).get(INGRESS)).toBe('resolved by hand\n');
  });

  it('closes its stale merge request once main already matches', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    await upgrader(world).upgrade(target, { dryRun: false });
    const result = await upgrader(world, TEST_SETTINGS).upgrade(target, { dryRun: false });
    expect(result.status).toBe('unchanged');
    expect(result.detail).toMatch(/closed the stale upgrade merge request !1/);
    expect(world.projects.get(path)!.mergeRequests[0].state).toBe('closed');
  });

  it('re-applies the namespace bundle and updates the ArgoCD project, only when they carry the marker', async () => {
    const world = new UpgradeWorld();
    const { target } = create(world, 'payments-api');
    const other = create(world, 'orders-api');
    world.namespaces.set('orders-api', { [RUN_MARKER_KEY]: 'someone-else' });
    world.argo.projects.delete('orders-api');
    const [mine, theirs] = await upgrader(world).upgradeAll([target, other.target], { dryRun: false });
    expect(mine.platform).toEqual([
      expect.stringMatching(/^Re-applied the namespace bundle of payments-api \(\d+ objects/),
      'ArgoCD AppProject payments-api: unchanged',
      'ArgoCD Application payments-api: unchanged',
    ]);
    expect(world.applied).toHaveLength(1);
    expect(world.applied[0].every(o => o.metadata.labels?.[RUN_MARKER_KEY] === 'marker-payments-api')).toBe(true);
    expect(theirs.platform).toEqual([
      "Kubernetes namespace orders-api does not carry this service's run marker: left alone",
      'ArgoCD AppProject orders-api does not exist: not re-created',
      'ArgoCD Application orders-api: unchanged',
    ]);
  });

  it('marks its own commits, and only them', async () => {
    const world = new UpgradeWorld();
    const { target, path } = create(world, 'payments-api');
    await upgrader(world).upgrade(target, { dryRun: false });
    const project = world.projects.get(path)!;
    const head = world.commits.get(project.branches.get(UPGRADE_BRANCH)!)!;
    expect(upgradeFingerprintOf(head)).toMatch(/^[0-9a-f]{64}$/);
    expect(upgradeFingerprintOf(world.commits.get(project.branches.get('main')!)!)).toBeUndefined();
  });
});
