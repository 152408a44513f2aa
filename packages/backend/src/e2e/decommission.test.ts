import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RunningSandbox, startDefaultSandbox } from '@internal/sandbox';
import { Portal, TaskResult, startPortal } from '../__testUtils__/portal';

// Decommission end to end: the real backend (scaffolder, catalog, permission
// policy from roles.yaml) runs the "Decommission a service" template through
// the scaffolder's HTTP API against the sandbox, as three users of the
// example org: the guest (team-payments), bob (team-orders), ada (platform admin).
jest.setTimeout(20 * 60_000);

type Api = (p: string, init?: RequestInit) => Promise<Response>;

let dir: string;
let sandbox: RunningSandbox;
let portal: Portal;
let guest: Api;
let bob: Api;
let ada: Api;
let serial = 0;
const uniqueName = (prefix: string) =>
  `${prefix}-${process.pid % 1000}-${++serial}`;

const SANDBOX_DBS = ['gitlab', 'argocd', 'aws', 'kubernetes'];

interface SandboxObject {
  db: string;
  kind: string;
  id: string;
  parent: string | null;
  data: any;
}

/**
 * Every object in the sandbox's own state that mentions `name`, read from its
 * SQLite files: not through the APIs the platform uses, so nothing the
 * platform forgets to ask about can hide.
 */
function sandboxObjectsOf(name: string): SandboxObject[] {
  const found: SandboxObject[] = [];
  for (const db of SANDBOX_DBS) {
    const file = path.join(dir, 'sandbox', `${db}.db`);
    if (!fs.existsSync(file)) continue;
    const conn = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = conn
        .prepare(
          "SELECT kind, id, parent, data FROM objects WHERE data LIKE ? ESCAPE '\\'",
        )
        .all(`%${name.replace(/[%_\\]/g, m => `\\${m}`)}%`) as any[];
      for (const r of rows) {
        found.push({
          db,
          kind: r.kind,
          id: r.id,
          parent: r.parent,
          data: JSON.parse(r.data),
        });
      }
    } finally {
      conn.close();
    }
  }
  return found;
}

/** The service's two GitLab projects, from the sandbox's state. */
function projectsOf(name: string) {
  return sandboxObjectsOf(name).filter(
    o =>
      o.db === 'gitlab' &&
      o.kind === 'project' &&
      [`apps/${name}`, `platform/gitops/${name}-gitops`].includes(
        o.data.path_with_namespace,
      ),
  );
}

/**
 * What is left of `name` besides its two archived repositories and what
 * belongs to them (their pipelines, revoked tokens, protected branches).
 */
function leftoversOf(name: string): string[] {
  const kept = projectsOf(name);
  const keptIds = new Set(kept.map(p => String(p.id)));
  const left = sandboxObjectsOf(name)
    .filter(
      o =>
        !(
          o.db === 'gitlab' &&
          keptIds.has(String(o.id)) &&
          o.kind === 'project'
        ),
    )
    .filter(
      o =>
        !(
          o.db === 'gitlab' &&
          o.parent !== null &&
          keptIds.has(String(o.parent)) &&
          !isLiveCredential(o)
        ),
    )
    .map(o => `${o.db} ${o.kind} ${o.id}`);
  for (const p of kept) {
    if (!p.data.archived)
      left.push(`${p.data.path_with_namespace} is not archived`);
    if (p.data.variables?.length)
      left.push(`${p.data.path_with_namespace} still has CI/CD variables`);
  }
  return left;
}

/** An access token or webhook that could still act for the service. */
function isLiveCredential(o: SandboxObject): boolean {
  if (/hook/i.test(o.kind)) return true;
  if (/token/i.test(o.kind)) return !o.data.revoked;
  return false;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-decommission-'));
  sandbox = await startDefaultSandbox({
    dataDir: path.join(dir, 'sandbox'),
    ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
  });
  portal = await startPortal({ sandbox });
  guest = await portal.asUser('user:default/guest');
  bob = await portal.asUser('user:default/bob');
  ada = await portal.asUser('user:default/ada');
  // The lifecycle template reaches the scaffolder through the catalog.
  const end = Date.now() + 120_000;
  while (
    (
      await ada(
        '/api/catalog/entities/by-name/template/default/decommission-service',
      )
    ).status !== 200
  ) {
    if (Date.now() > end)
      throw new Error(
        'the decommission template never appeared in the catalog',
      );
    await new Promise(r => setTimeout(r, 500));
  }
});
afterAll(async () => {
  await portal?.close();
  await sandbox?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function runTemplate(
  api: Api,
  templateRef: string,
  values: object,
): Promise<TaskResult> {
  const res = await api('/api/scaffolder/v2/tasks', {
    method: 'POST',
    body: JSON.stringify({ templateRef, values }),
  });
  if (res.status !== 201)
    throw new Error(`create task: ${res.status} ${await res.text()}`);
  return portal.waitForTask((await res.json()).id, 180_000, api);
}

/** A service of team-payments, made by the guest, with its entity in the catalog. */
async function createService(name: string) {
  const task = await runTemplate(guest, 'template:default/nodejs-service', {
    name,
    owner: 'group:default/team-payments',
    description: 'Decommission e2e',
    port: 3000,
    replicas: 2,
  });
  if (task.status !== 'completed')
    throw new Error(`create ${task.status}: ${task.message}`);
  const end = Date.now() + 120_000;
  while (
    (await ada(`/api/catalog/entities/by-name/component/default/${name}`))
      .status !== 200
  ) {
    if (Date.now() > end) throw new Error(`entity ${name} never appeared`);
    await new Promise(r => setTimeout(r, 500));
  }
}

const decommission = (api: Api, name: string, extra: object = {}) =>
  runTemplate(api, 'template:default/decommission-service', {
    name,
    confirmName: name,
    ...extra,
  });

const reportOf = (task: TaskResult): string =>
  task.output?.text?.find((t: any) => t.title === 'Decommission report')
    ?.content ?? '';

/** What a refusal must not change: every object of the service and its fields that matter. */
function fingerprint(name: string): string[] {
  return sandboxObjectsOf(name)
    .filter(o => !/pipeline|job/i.test(o.kind))
    .map(
      o =>
        `${o.db} ${o.kind} ${o.id} archived=${o.data.archived ?? '-'} revoked=${
          o.data.revoked ?? '-'
        } vars=${o.data.variables?.length ?? '-'}`,
    )
    .sort();
}

describe('Decommission, end to end', () => {
  it('refuses a non-owner, then removes everything but the archived repositories for an owner, and reports "nothing left" the second time', async () => {
    const name = uniqueName('retire');
    await createService(name);
    const created = fingerprint(name);
    expect(created.length).toBeGreaterThan(10);
    expect(leftoversOf(name).length).toBeGreaterThan(0);

    // bob (team-orders) may not decommission a team-payments service.
    const refused = await decommission(bob, name);
    expect(refused.status).toBe('failed');
    expect(refused.message).toContain(
      `You (user:default/bob) may not decommission ${name}`,
    );
    expect(fingerprint(name)).toEqual(created);
    expect(
      (await ada(`/api/catalog/entities/by-name/component/default/${name}`))
        .status,
    ).toBe(200);

    // A dry run by the owner lists and changes nothing.
    const preview = await decommission(guest, name, { dryRun: true });
    expect(preview.status).toBe('completed');
    expect(reportOf(preview)).toContain(
      `Dry run: this is what decommissioning **${name}** would do.`,
    );
    expect(reportOf(preview)).toContain(`- ECR repository ${name}`);
    expect(fingerprint(name)).toEqual(created);

    // The owner decommissions it.
    const done = await decommission(guest, name);
    if (done.status !== 'completed')
      throw new Error(
        `decommission ${done.status}: ${done.message}\n${done.log.join('\n')}`,
      );
    const report = reportOf(done);
    expect(report).toContain(`**${name}** is decommissioned.`);
    expect(report).toContain('### Removed');
    expect(report).toContain(`- ArgoCD application ${name}`);
    expect(report).toContain(
      `- GitLab project apps/${name}: archived; removed CI/CD variables`,
    );
    expect(report).not.toContain('### Left alone');
    expect(leftoversOf(name)).toEqual([]);
    expect(
      projectsOf(name)
        .map(p => [p.data.path_with_namespace, p.data.archived])
        .sort(),
    ).toEqual([
      [`apps/${name}`, true],
      [`platform/gitops/${name}-gitops`, true],
    ]);
    expect(
      (await ada(`/api/catalog/entities/by-name/component/default/${name}`))
        .status,
    ).toBe(404);
    const links = done.output!.links.map((l: any) => l.url);
    expect(links).toContain(`${portal.sandbox.urls.gitlab}/apps/${name}`);

    // Again: nothing left, and it succeeds.
    const again = await decommission(guest, name);
    expect(again.status).toBe('completed');
    expect(reportOf(again)).toContain(`Nothing was left of **${name}**`);
    expect(leftoversOf(name)).toEqual([]);

    // The name stays taken while the archived repositories exist.
    const reuse = await runTemplate(guest, 'template:default/nodejs-service', {
      name,
      owner: 'group:default/team-payments',
      description: 'Same name again',
      port: 3000,
      replicas: 2,
    });
    expect(reuse.status).toBe('failed');
    expect(reuse.message).toContain(`Service name "${name}" is already taken`);
  });

  it('leaves a lookalike without the marker alone, names it in the report, and a platform admin may decommission any service', async () => {
    const name = uniqueName('lookalike');
    await createService(name);
    // Someone replaced the service's ECR repository with their own of the
    // same name (through the real AWS API shape): it carries no marker of ours.
    const ecr = (target: string, body: object) =>
      fetch(sandbox.urls.aws, {
        method: 'POST',
        headers: {
          'x-amz-target': `AmazonEC2ContainerRegistry_V20150921.${target}`,
          'content-type': 'application/x-amz-json-1.1',
        },
        body: JSON.stringify(body),
      });
    expect(
      (await ecr('DeleteRepository', { repositoryName: name, force: true }))
        .status,
    ).toBe(200);
    expect(
      (
        await ecr('CreateRepository', {
          repositoryName: name,
          tags: [{ Key: 'team', Value: 'someone-else' }],
        })
      ).status,
    ).toBe(200);

    const done = await decommission(ada, name);
    if (done.status !== 'completed')
      throw new Error(
        `decommission ${done.status}: ${done.message}\n${done.log.join('\n')}`,
      );
    expect(reportOf(done)).toContain(
      `### Left alone\n\n- ECR repository ${name}: not made by this service's Create (it does not carry its run marker)`,
    );
    const described = await (
      await ecr('DescribeRepositories', { repositoryNames: [name] })
    ).json();
    expect(described.repositories?.[0]?.repositoryName).toBe(name);
    // Only the lookalike is left besides the archived repositories.
    expect(leftoversOf(name)).toEqual([expect.stringMatching(/^aws /)]);
  });
});
