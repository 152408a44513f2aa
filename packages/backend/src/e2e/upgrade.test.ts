import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunningSandbox } from '@internal/sandbox';
import {
  Portal,
  TaskResult,
  dropDatabases,
  startPortal,
  startTestSandbox,
} from '../__testUtils__/portal';

// Upgrade, end to end: services are created by one portal; the platform
// then deploys a new render layer (here: the portal restarts with
// goldenPath.render.extraLabels, a label on every rendered object) and an
// admin runs the "Upgrade services" template through the scaffolder's API.
jest.setTimeout(30 * 60_000);

const PREFIX = `idp_upgrade_${process.pid}_${Date.now() % 100000}_`;
const LABEL = 'cost-center: cc-42';
// The record and branch of the upgrade (see @internal/plugin-golden-path-common).
const SERVICE_RECORD_PATH = '.golden-path/service.json';
const UPGRADE_BRANCH = 'golden-path/upgrade';
/** The portal's render version, as its status route reports it. */
let renderVersion: number;
const DEPLOYMENT = 'manifests/deployment.yaml';

let dir: string;
let sandbox: RunningSandbox;
let portal: Portal;
const suffix = `${process.pid % 1000}`;
const plain = `upgrade-a-${suffix}`;
const edited = `upgrade-b-${suffix}`;
const gitopsPath = (name: string) => `platform/gitops/${name}-gitops`;

type Api = (p: string, init?: RequestInit) => Promise<Response>;

/** The sandbox GitLab's API, as the platform's token sees it. */
async function gitlab(p: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${sandbox.urls.gitlab}/api/v4${p}`, {
    ...init,
    headers: { 'PRIVATE-TOKEN': 'sandbox-token', 'content-type': 'application/json' },
  });
  if (!res.ok) throw new Error(`GitLab ${p}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}
const project = (name: string) => encodeURIComponent(gitopsPath(name));
const fileOn = async (name: string, file: string, ref = 'main') =>
  Buffer.from(
    (await gitlab(`/projects/${project(name)}/repository/files/${encodeURIComponent(file)}?ref=${encodeURIComponent(ref)}`))
      .content,
    'base64',
  ).toString('utf8');
const openUpgradeMrs = (name: string) =>
  gitlab(
    `/projects/${project(name)}/merge_requests?state=opened&source_branch=${encodeURIComponent(UPGRADE_BRANCH)}`,
  );

/** Runs the upgrade template as `as`; returns the finished task. */
async function upgrade(as: Api, values: Record<string, unknown>): Promise<TaskResult> {
  const res = await as('/api/scaffolder/v2/tasks', {
    method: 'POST',
    body: JSON.stringify({ templateRef: 'template:default/upgrade-services', values }),
  });
  if (res.status !== 201) throw new Error(`upgrade task: ${res.status} ${await res.text()}`);
  return portal.waitForTask((await res.json()).id, 300_000, as);
}
const reportOf = (task: TaskResult): string => {
  if (task.status !== 'completed') {
    throw new Error(`task ${task.status}: ${task.message}\n${task.log.join('\n')}`);
  }
  return task.output!.text[0].content;
};
/** The report's table row of `name`. */
const rowOf = (report: string, name: string) =>
  report.split('\n').find(l => l.startsWith(`| ${name} |`)) ?? `(no row for ${name})`;

/** Lines a unified diff adds or removes, without their indentation: `+key: value`. */
const changedLines = (diff: string) =>
  diff
    .split('\n')
    .filter(l => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l))
    .map(l => l.replace(/^([-+])\s+/, '$1'));

/** The entity page's upgrade status of `name`, once the catalog has the entity. */
async function upgradeStatus(name: string): Promise<any> {
  const end = Date.now() + 120_000;
  for (;;) {
    const res = await portal.api(
      `/api/golden-path/upgrade?entityRef=${encodeURIComponent(`component:default/${name}`)}`,
    );
    const body = await res.json();
    if (res.ok) return body;
    if (Date.now() > end) throw new Error(`upgrade status of ${name}: ${res.status} ${JSON.stringify(body)}`);
    await new Promise(r => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-upgrade-'));
  sandbox = await startTestSandbox(dir);
  portal = await startPortal({ sandbox, database: { client: 'pg', prefix: PREFIX } });
});
afterAll(async () => {
  await portal?.close();
  await sandbox?.close();
  await dropDatabases(PREFIX).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('upgrade to the current golden path, end to end', () => {
  it('Create records the inputs and render version in each GitOps repository', async () => {
    const tasks = await Promise.all(
      [plain, edited].map(async name =>
        portal.waitForTask(
          await portal.createService({
            name,
            owner: 'group:default/team-payments',
            description: 'Upgrade test service',
            port: 3000,
            replicas: 2,
          }),
          300_000,
        ),
      ),
    );
    for (const task of tasks) {
      if (task.status !== 'completed') {
        throw new Error(`create ${task.status}: ${task.message}\n${task.log.join('\n')}`);
      }
    }
    const body = await upgradeStatus(plain);
    renderVersion = body.currentRenderVersion;
    expect(renderVersion).toBeGreaterThanOrEqual(1);
    expect(body).toEqual({ renderVersion, currentRenderVersion: renderVersion, upgradeWaiting: false });
    for (const name of [plain, edited]) {
      const record = JSON.parse(await fileOn(name, SERVICE_RECORD_PATH));
      expect(record).toMatchObject({
        renderVersion,
        request: { name, owner: 'group:default/team-payments', port: 3000, replicas: 2 },
        runtime: { name: 'nodejs' },
      });
      expect(Object.keys(record.files)).toContain(DEPLOYMENT);
    }
  });

  it('after a render change, opens one merge request per service with exactly that change; a hand edit shows as a conflict', async () => {
    // Someone edits the labels of one service's Deployment by hand.
    const original = await fileOn(edited, DEPLOYMENT);
    const lines = original.split('\n');
    const start = lines.indexOf('  labels:') + 1;
    let end = start;
    while (lines[end]?.startsWith('    ')) end++;
    const handEdited = [
      ...lines.slice(0, start),
      ...lines.slice(start, end).map(l => `${l} # reviewed by hand`),
      ...lines.slice(end),
    ].join('\n');
    await gitlab(`/projects/${project(edited)}/repository/commits`, {
      method: 'POST',
      body: JSON.stringify({
        branch: 'main',
        commit_message: 'Review the labels by hand',
        actions: [{ action: 'update', file_path: DEPLOYMENT, content: handEdited }],
      }),
    });

    // The platform deploys a new render layer.
    await portal.close();
    portal = await startPortal({
      sandbox,
      database: { client: 'pg', prefix: PREFIX },
      config: { goldenPath: { render: { extraLabels: { 'cost-center': 'cc-42' } } } },
    });
    const ada = await portal.asUser('user:default/ada');

    // A dry run shows the difference and changes nothing.
    const dry = reportOf(await upgrade(ada, { scope: 'all', dryRun: true }));
    expect(rowOf(dry, plain)).toMatch(/would open or update an MR/);
    expect(dry).toContain(`+    ${LABEL}`);
    expect(await openUpgradeMrs(plain)).toEqual([]);

    const report = reportOf(await upgrade(ada, { scope: 'all', dryRun: false }));
    expect(rowOf(report, plain)).toMatch(/\| MR opened \[!1\]/);
    expect(rowOf(report, edited)).toMatch(/\| MR opened \[!1\].*1 with conflicts/);

    for (const name of [plain, edited]) {
      const mrs = await openUpgradeMrs(name);
      expect(mrs).toHaveLength(1);
      const diffs: any[] = await gitlab(`/projects/${project(name)}/merge_requests/${mrs[0].iid}/diffs`);
      const byPath = Object.fromEntries(diffs.map(d => [d.new_path, d.diff]));
      expect(Object.keys(byPath)).toContain(SERVICE_RECORD_PATH);
      for (const [file, diff] of Object.entries(byPath)) {
        if (file === SERVICE_RECORD_PATH || (name === edited && file === DEPLOYMENT)) continue;
        // Every other change is the new label, nothing else.
        const changes = changedLines(diff as string);
        expect({ file, changes }).toEqual({ file, changes: changes.map(() => `+${LABEL}`) });
        expect(changes.length).toBeGreaterThan(0);
      }
      expect(Object.keys(byPath)).toContain(DEPLOYMENT);
    }
    const plainMr = (await openUpgradeMrs(plain))[0];
    expect(plainMr.title).toBe(`Upgrade to the current golden path (render version ${renderVersion})`);

    // The hand edit is not overwritten: main keeps it, the MR shows the conflict.
    const editedMr = (await openUpgradeMrs(edited))[0];
    expect(editedMr.title).toMatch(/^Draft: /);
    expect(editedMr.description).toContain(`- \`${DEPLOYMENT}\``);
    expect(await fileOn(edited, DEPLOYMENT)).toBe(handEdited);
    const proposed = await fileOn(edited, DEPLOYMENT, UPGRADE_BRANCH);
    expect(proposed).toMatch(/^<<<<<<< main \(edited by hand\)$/m);
    expect(proposed).toMatch(/# reviewed by hand/);
    expect(proposed).toMatch(/^>>>>>>> golden path/m);
    expect(proposed).toContain(LABEL);

    // The namespace guard rails were re-applied with the new render.
    const namespace = await (
      await fetch(`${sandbox.urls.kubernetes}/api/v1/namespaces/${plain}`, {
        headers: { authorization: 'Bearer sandbox-token' },
      })
    ).json();
    expect(namespace.metadata.labels['cost-center']).toBe('cc-42');

    // The entity page sees the waiting upgrade.
    const status = await upgradeStatus(plain);
    expect(status).toMatchObject({ upgradeWaiting: true, mergeRequest: { iid: plainMr.iid, url: plainMr.web_url } });
  });

  it('a second run reports both unchanged and opens no second merge request', async () => {
    const ada = await portal.asUser('user:default/ada');
    const report = reportOf(await upgrade(ada, { scope: 'all', dryRun: false }));
    expect(rowOf(report, plain)).toMatch(/\| unchanged \[!1\]/);
    expect(rowOf(report, edited)).toMatch(/\| unchanged \[!1\]/);
    for (const name of [plain, edited]) {
      expect((await openUpgradeMrs(name)).map((m: any) => m.iid)).toEqual([1]);
      const all = await gitlab(`/projects/${project(name)}/merge_requests?state=all`);
      expect(all).toHaveLength(1);
    }
  });

  it('lets an owner upgrade their service, and refuses others before touching anything', async () => {
    const guest = await portal.asUser('user:default/guest');
    expect(rowOf(reportOf(await upgrade(guest, { scope: 'one', name: plain })), plain)).toMatch(/\| unchanged/);

    const bob = await portal.asUser('user:default/bob');
    const notOwner = await upgrade(bob, { scope: 'one', name: plain });
    expect(notOwner.status).toBe('failed');
    expect(notOwner.message).toMatch(/You may not upgrade component:default\/upgrade-a-\d+: only its owners and platform admins may/);
    const notAdmin = await upgrade(guest, { scope: 'all' });
    expect(notAdmin.status).toBe('failed');
    expect(notAdmin.message).toMatch(/Upgrading every service is for platform admins/);
  });
});
