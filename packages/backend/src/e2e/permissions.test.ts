import { Portal, sandboxResourcesFor, startPortal } from '../__testUtils__/portal';

// Who may do what, through real HTTP against the real backend with the real
// permission policy (roles.yaml): a developer of team-payments (the guest),
// a developer of team-orders (bob), a platform admin (ada), and no token.
jest.setTimeout(15 * 60_000);

type Api = (p: string, init?: RequestInit) => Promise<Response>;
type Subject = 'devA' | 'devB' | 'admin' | 'none';

let portal: Portal;
const as: Record<Subject, Api> = {} as any;
let serial = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid % 1000}-${++serial}`;

const form = (name: string, owner: string) => ({
  name,
  owner,
  description: 'Permission matrix service',
  port: 3000,
  replicas: 2,
});

async function createTask(api: Api, values: object) {
  const res = await api('/api/scaffolder/v2/tasks', {
    method: 'POST',
    body: JSON.stringify({ templateRef: 'template:default/nodejs-service', values }),
  });
  return { status: res.status, id: res.ok ? ((await res.json()).id as string) : undefined };
}

async function entityUid(name: string): Promise<string> {
  for (let i = 0; i < 120; i++) {
    const res = await as.admin(`/api/catalog/entities/by-name/component/default/${name}`);
    if (res.ok) return (await res.json()).metadata.uid;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`entity ${name} never appeared`);
}

beforeAll(async () => {
  portal = await startPortal();
  as.devA = await portal.asUser('user:default/guest');
  as.devB = await portal.asUser('user:default/bob');
  as.admin = await portal.asUser('user:default/ada');
  as.none = (p, init = {}) =>
    fetch(`${portal.baseUrl}${p}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers as any) } });
});
afterAll(async () => {
  await portal?.close();
});

describe('the permission policy, through real HTTP', () => {
  it('allows and denies exactly what roles.yaml says, on every protected route', async () => {
    // One service per team, made by a developer of that team.
    const svcA = uniqueName('team-a-svc');
    const svcB = uniqueName('team-b-svc');
    const taskA = await createTask(as.devA, form(svcA, 'group:default/team-payments'));
    const taskB = await createTask(as.devB, form(svcB, 'group:default/team-orders'));
    expect([taskA.status, taskB.status]).toEqual([201, 201]);
    expect((await portal.waitForTask(taskA.id!, 120_000, as.admin)).status).toBe('completed');
    expect((await portal.waitForTask(taskB.id!, 120_000, as.admin)).status).toBe('completed');
    const uidA = await entityUid(svcA);
    const uidB = await entityUid(svcB);
    const exampleUid = (await (await as.admin('/api/catalog/entities/by-name/component/default/example-website')).json()).metadata?.uid;

    /** The task and entity of "another team" for each subject. */
    const other: Record<Subject, { task: string; uid: string; ref: string }> = {
      devA: { task: taskB.id!, uid: uidB, ref: `component:default/${svcB}` },
      devB: { task: taskA.id!, uid: uidA, ref: `component:default/${svcA}` },
      admin: { task: taskA.id!, uid: exampleUid ?? uidA, ref: `component:default/${svcA}` },
      none: { task: taskA.id!, uid: uidA, ref: `component:default/${svcA}` },
    };
    const templateManagement = async (api: Api) => {
      const res = await api('/api/permission/authorize', {
        method: 'POST',
        body: JSON.stringify({
          items: [{ id: '1', permission: { type: 'basic', name: 'scaffolder.template.management', attributes: {} } }],
        }),
      });
      if (!res.ok) return res.status;
      const { items } = await res.json();
      return items[0].result === 'ALLOW' ? 200 : 403;
    };

    const routes: Array<[string, (s: Subject) => Promise<number>]> = [
      ['create a task', async s => (await createTask(as[s], form(uniqueName('mx'), s === 'devB' ? 'group:default/team-orders' : 'group:default/team-payments')).then(async t => {
        // Do not leave half-made tasks behind.
        if (t.id) await portal.waitForTask(t.id, 120_000, as.admin);
        return t;
      })).status],
      ['read a task of another user', async s => (await as[s](`/api/scaffolder/v2/tasks/${other[s].task}`)).status],
      ['read its events', async s => (await as[s](`/api/scaffolder/v2/tasks/${other[s].task}/events`)).status],
      ['cancel a task of another user', async s => (await as[s](`/api/scaffolder/v2/tasks/${other[s].task}/cancel`, { method: 'POST', body: '{}' })).status],
      ['retry a task of another user', async s => {
        const res = await as[s](`/api/scaffolder/v2/tasks/${other[s].task}/retry`, { method: 'POST', body: '{}' });
        if (res.ok) await portal.waitForTask(other[s].task, 120_000, as.admin);
        return res.status;
      }],
      ['dry-run a template (template editor)', async s => (await as[s]('/api/scaffolder/v2/dry-run', {
        method: 'POST',
        body: JSON.stringify({
          template: { apiVersion: 'scaffolder.backstage.io/v1beta3', kind: 'Template', metadata: { name: 'x' }, spec: { type: 'service', owner: 'group:default/platform-team', steps: [], parameters: [] } },
          values: {},
          directoryContents: [],
        }),
      })).status],
      ['template management (editor in the UI)', s => templateManagement(as[s])],
      ['unregister an entity of another team', async s => (await as[s](`/api/catalog/entities/by-uid/${other[s].uid}`, { method: 'DELETE' })).status],
      ['register a location', async s => (await as[s]('/api/catalog/locations?dryRun=true', {
        method: 'POST',
        body: JSON.stringify({ type: 'url', target: 'https://gitlab.example.com/x/-/blob/main/catalog-info.yaml' }),
      })).status],
      ['ArgoCD card of another team’s service', async s => (await as[s](`/api/golden-path/argocd/application?entityRef=${encodeURIComponent(other[s].ref)}`)).status],
      ['pipeline card of another team’s service', async s => (await as[s](`/api/golden-path/gitlab/pipelines/latest?entityRef=${encodeURIComponent(other[s].ref)}`)).status],
      ['list runs needing attention', async s => (await as[s]('/api/scaffolder/golden-path/runs')).status],
      // The task list is filtered, not refused: 200 when another user's task
      // is in it, 403 (for the matrix) when the list leaves it out.
      ['see a task of another user in the task list', async s => {
        const res = await as[s]('/api/scaffolder/v2/tasks?limit=1000');
        if (!res.ok) return res.status;
        const { tasks } = await res.json();
        return tasks.some((t: { id: string }) => t.id === other[s].task) ? 200 : 403;
      }],
    ];

    const allowed = (status: number) => status < 400 || status === 404 || status === 400 || status === 409 || status === 422;
    // The decisions roles.yaml promises (true = allowed).
    const expected: Record<string, Record<Subject, boolean>> = {
      'create a task': { devA: true, devB: true, admin: true, none: false },
      'read a task of another user': { devA: false, devB: false, admin: true, none: false },
      'read its events': { devA: false, devB: false, admin: true, none: false },
      'cancel a task of another user': { devA: false, devB: false, admin: true, none: false },
      'retry a task of another user': { devA: false, devB: false, admin: true, none: false },
      'dry-run a template (template editor)': { devA: false, devB: false, admin: true, none: false },
      'template management (editor in the UI)': { devA: false, devB: false, admin: true, none: false },
      'unregister an entity of another team': { devA: false, devB: false, admin: true, none: false },
      'register a location': { devA: false, devB: false, admin: true, none: false },
      'ArgoCD card of another team’s service': { devA: true, devB: true, admin: true, none: false },
      'pipeline card of another team’s service': { devA: true, devB: true, admin: true, none: false },
      'list runs needing attention': { devA: false, devB: false, admin: true, none: false },
      'see a task of another user in the task list': { devA: false, devB: false, admin: true, none: false },
    };

    const subjects: Subject[] = ['devA', 'devB', 'admin', 'none'];
    const rows: string[] = [];
    const unexpected: string[] = [];
    // Admin's destructive checks last: they cancel and delete.
    for (const subject of ['none', 'devA', 'devB', 'admin'] as Subject[]) {
      for (const [route, call] of routes) {
        const status = await call(subject);
        const got = allowed(status);
        (expected[route] as any)[`${subject}:status`] = status;
        if (got !== expected[route][subject]) {
          unexpected.push(`${route} as ${subject}: ${status} (${got ? 'allowed' : 'denied'}, expected ${expected[route][subject] ? 'allowed' : 'denied'})`);
        }
      }
    }
    for (const [route] of routes) {
      rows.push(
        `| ${route} | ${subjects
          .map(s => `${expected[route][s] ? 'allow' : 'deny'} (${(expected[route] as any)[`${s}:status`]})`)
          .join(' | ')} |`,
      );
    }
    // eslint-disable-next-line no-console
    console.log(
      [
        '| route | dev team-payments | dev team-orders | platform admin | no token |',
        '| --- | --- | --- | --- | --- |',
        ...rows,
        '',
        `unexpected: ${unexpected.length}`,
      ].join('\n'),
    );
    expect(unexpected).toEqual([]);
  });

  it('refuses, before anything is created, a Create whose owner is a team the user is not in', async () => {
    const name = uniqueName('not-mine');
    const task = await createTask(as.devB, form(name, 'group:default/team-payments'));
    expect(task.status).toBe(201);
    const result = await portal.waitForTask(task.id!, 120_000, as.admin);
    expect(result.status).toBe('failed');
    expect(result.log.join('\n')).toContain(
      'You (user:default/bob) are not a member of group:default/team-payments, so you cannot create a service it owns. Choose one of your teams: group:default/team-orders.',
    );
    expect(await sandboxResourcesFor(portal.sandbox, name)).toEqual([]);
  });

  it('lets a platform admin create a service for any team', async () => {
    const name = uniqueName('admin-made');
    const task = await createTask(as.admin, form(name, 'group:default/team-orders'));
    expect((await portal.waitForTask(task.id!, 120_000, as.admin)).status).toBe('completed');
  });
});
