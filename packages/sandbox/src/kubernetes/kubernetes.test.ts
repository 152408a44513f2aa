import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { KubernetesClient } from '@internal/plugin-golden-path-node';
import {
  renderNamespace,
  renderNetworkPolicies,
  renderRole,
  renderRoleBinding,
  renderServiceAccount,
  renderContext,
} from '@internal/plugin-scaffolder-backend-module-golden-path';
import { exampleRequest, exampleSettings } from '@internal/plugin-golden-path-node/testUtils';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import { KUBERNETES_OPERATIONS, kubernetesFake, kubernetesOperationOf } from './index';

const stub: SandboxFakeFactory = () => ({ router: express.Router(), operationOf: () => 'x' });
const TOKEN = 'sandbox-kubernetes-token';
const NS = exampleRequest.name;

type Obj = KubernetesObject & Record<string, any>;

/** The golden path's namespace bundle, rendered by the plugin. */
function bundle(): Obj[] {
  return [
    renderNamespace(renderContext(exampleSettings, exampleRequest)),
    ...renderNetworkPolicies(renderContext(exampleSettings, exampleRequest)),
    renderServiceAccount(renderContext(exampleSettings, exampleRequest)),
    renderRole(renderContext(exampleSettings, exampleRequest)),
    renderRoleBinding(renderContext(exampleSettings, exampleRequest)),
  ] as unknown as Obj[];
}

describe('kubernetesFake', () => {
  let dataDir: string;
  let sandbox: RunningSandbox | undefined;
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  let client: KubernetesClient;

  const start = async () => {
    sandbox = await startSandbox({
      dataDir,
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
      fakes: { gitlab: stub, argocd: stub, aws: stub, kubernetes: kubernetesFake },
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'sandbox', server: sandbox.urls.kubernetes, skipTLSVerify: true }],
      users: [{ name: 'sandbox', token: TOKEN }],
      contexts: [{ name: 'sandbox', cluster: 'sandbox', user: 'sandbox' }],
      currentContext: 'sandbox',
    });
    objects = KubernetesObjectApi.makeApiClient(kc);
    core = kc.makeApiClient(CoreV1Api);
    client = new KubernetesClient({ kc, requestTimeoutMs: 10_000 });
  };
  const stop = async () => {
    await sandbox?.close();
    sandbox = undefined;
  };

  const raw = async (method: string, p: string, init: { body?: string; contentType?: string; token?: string | null } = {}) => {
    const token = init.token === undefined ? TOKEN : init.token;
    const res = await fetch(`${sandbox!.urls.kubernetes}${p}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(init.contentType ? { 'Content-Type': init.contentType } : {}),
      },
      body: init.body,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  const read = (o: Obj) => objects.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata!.name!, namespace: o.metadata!.namespace } }) as Promise<Obj>;
  const count = async (apiVersion: string, kind: string) => (await objects.list(apiVersion, kind, NS)).items.length;
  const apiError = async (p: Promise<unknown>): Promise<ApiException<any>> => {
    try {
      await p;
    } catch (err) {
      if (err instanceof ApiException) return err;
      throw err;
    }
    throw new Error('expected the call to fail');
  };
  const statusOf = (err: ApiException<any>) => (typeof err.body === 'string' ? JSON.parse(err.body) : err.body);

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-kubernetes-'));
    await start();
  });

  afterEach(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves discovery for the golden-path kinds', async () => {
    const apis = await raw('GET', '/apis');
    expect(apis.body.groups.map((g: any) => g.preferredVersion.groupVersion).sort()).toEqual([
      'apps/v1',
      'external-secrets.io/v1',
      'networking.k8s.io/v1',
      'rbac.authorization.k8s.io/v1',
    ]);
    expect((await raw('GET', '/api')).body.versions).toEqual(['v1']);
    const core1 = await raw('GET', '/api/v1');
    expect(core1.body.resources.map((r: any) => r.kind).sort()).toEqual([
      'ConfigMap',
      'LimitRange',
      'Namespace',
      'ResourceQuota',
      'Secret',
      'Service',
      'ServiceAccount',
    ]);
    expect((await raw('GET', '/apis/external-secrets.io/v1')).body.resources).toEqual([
      expect.objectContaining({ name: 'secretstores', kind: 'SecretStore', namespaced: true }),
    ]);
    expect(core1.body.resources.find((r: any) => r.kind === 'Namespace')).toMatchObject({
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      verbs: expect.arrayContaining(['get', 'list', 'patch', 'delete']),
    });
    expect((await raw('GET', '/apis/networking.k8s.io/v1')).body.resources.map((r: any) => r.kind).sort()).toEqual(['Ingress', 'NetworkPolicy']);
    expect((await raw('GET', '/apis/apps/v1')).body.resources.map((r: any) => r.kind)).toEqual(['Deployment']);
    expect((await raw('GET', '/apis/rbac.authorization.k8s.io/v1')).body.resources.map((r: any) => r.kind).sort()).toEqual(['Role', 'RoleBinding']);
    expect((await raw('GET', '/apis/batch/v1')).status).toBe(404);

    // What client-node resolves from apiVersion + kind.
    await expect(objects.list('networking.k8s.io/v1', 'NetworkPolicy', 'x')).resolves.toMatchObject({ items: [] });
  });

  it('refuses requests without a bearer token', async () => {
    const answer = await raw('GET', '/api/v1/namespaces', { token: null });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('applies the namespace bundle with the real KubernetesClient and reads it back', async () => {
    const rendered = bundle();
    expect(await client.namespaceExists(NS)).toBe(false);
    await client.apply(rendered as any);
    expect(await client.namespaceExists(NS)).toBe(true);

    for (const o of rendered) {
      const stored = await read(o);
      expect(stored.metadata).toMatchObject({
        name: o.metadata!.name,
        labels: expect.objectContaining(o.metadata!.labels),
        annotations: o.metadata!.annotations,
      });
      expect(stored.metadata!.uid).toBeTruthy();
      expect(Number(stored.metadata!.resourceVersion)).toBeGreaterThan(0);
      expect(stored.metadata!.creationTimestamp).toBeInstanceOf(Date);
      expect(stored.metadata!.managedFields).toEqual([
        expect.objectContaining({ manager: 'golden-path-idp', operation: 'Apply', apiVersion: o.apiVersion }),
      ]);
    }
    const ns = await core.readNamespace({ name: NS });
    expect(ns.metadata!.labels!['kubernetes.io/metadata.name']).toBe(NS);
    expect(ns.status!.phase).toBe('Active');

    const policies = await objects.list('networking.k8s.io/v1', 'NetworkPolicy', NS);
    expect(policies.items.map(p => p.metadata!.name).sort()).toEqual(
      renderNetworkPolicies(renderContext(exampleSettings, exampleRequest)).map(p => p.metadata.name).sort(),
    );
    const rendered0 = renderNetworkPolicies(renderContext(exampleSettings, exampleRequest))[0];
    const stored0 = (await read(rendered0 as unknown as Obj)) as any;
    expect(JSON.parse(JSON.stringify(stored0.spec))).toEqual(JSON.parse(JSON.stringify(rendered0.spec)));
    const role = (await read(renderRole(renderContext(exampleSettings, exampleRequest)) as unknown as Obj)) as any;
    expect(role.rules).toEqual(renderRole(renderContext(exampleSettings, exampleRequest)).rules);
  });

  it('re-applies idempotently: no duplicates, and resourceVersion moves only on change', async () => {
    const rendered = bundle();
    await client.apply(rendered as any);
    const ns0 = await read(rendered[0]);
    const counts = async () => [
      (await objects.list('v1', 'Namespace')).items.length,
      await count('networking.k8s.io/v1', 'NetworkPolicy'),
      await count('v1', 'ServiceAccount'),
      await count('rbac.authorization.k8s.io/v1', 'Role'),
      await count('rbac.authorization.k8s.io/v1', 'RoleBinding'),
    ];
    const before = await counts();
    expect(before).toEqual([1, renderNetworkPolicies(renderContext(exampleSettings, exampleRequest)).length, 1, 1, 1]);

    await client.apply(rendered as any);
    expect(await counts()).toEqual(before);
    expect((await read(rendered[0])).metadata!.resourceVersion).toBe(ns0.metadata!.resourceVersion);

    // A changed label moves resourceVersion; uid and creation time stay.
    const changed = bundle();
    changed[0].metadata!.labels = { ...changed[0].metadata!.labels, extra: 'yes' };
    await client.apply(changed as any);
    const ns1 = await read(rendered[0]);
    expect(Number(ns1.metadata!.resourceVersion)).toBeGreaterThan(Number(ns0.metadata!.resourceVersion));
    expect(ns1.metadata!.uid).toBe(ns0.metadata!.uid);
    expect(ns1.metadata!.creationTimestamp).toEqual(ns0.metadata!.creationTimestamp);
    expect(ns1.metadata!.labels!.extra).toBe('yes');

    // Applying without it again removes the field the manager no longer sets.
    await client.apply(rendered as any);
    expect((await read(rendered[0])).metadata!.labels!.extra).toBeUndefined();
    expect(await counts()).toEqual(before);
  });

  it('deletes: a Namespace takes everything in it; deleting again is 404', async () => {
    const rendered = bundle();
    await client.apply(rendered as any);
    await objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    expect(await client.namespaceExists(NS)).toBe(false);
    expect(await count('networking.k8s.io/v1', 'NetworkPolicy')).toBe(0);
    expect(await count('rbac.authorization.k8s.io/v1', 'RoleBinding')).toBe(0);
    expect(await count('v1', 'ServiceAccount')).toBe(0);

    const again = await apiError(objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
    expect(again.code).toBe(404);
    expect(statusOf(again)).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: `namespaces "${NS}" not found`,
    });

    // The client's delete (reverse order, 404 = done) on a fresh apply, and once more.
    await client.apply(rendered as any);
    await client.delete(rendered as any);
    expect(await client.namespaceExists(NS)).toBe(false);
    await expect(client.delete(rendered as any)).resolves.toBeUndefined();
  });

  it('requires fieldManager and an existing namespace', async () => {
    const ns = renderNamespace(renderContext(exampleSettings, exampleRequest));
    const noManager = await apiError(objects.patch(ns, undefined, undefined, undefined, true, PatchStrategy.ServerSideApply));
    expect(noManager.code).toBe(400);
    expect(statusOf(noManager).message).toContain('fieldManager: Required value');

    const sa = renderServiceAccount(renderContext(exampleSettings, exampleRequest));
    await expect(client.apply([sa] as any)).rejects.toThrow(`namespaces "${NS}" not found`);
  });

  it('accepts YAML apply bodies, and honours force on conflicts', async () => {
    const yamlBody = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-x\n  labels:\n    owner: a\n`;
    const created = await raw('PATCH', '/api/v1/namespaces/team-x?fieldManager=first', {
      body: yamlBody,
      contentType: 'application/apply-patch+yaml',
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata.labels).toEqual({ owner: 'a', 'kubernetes.io/metadata.name': 'team-x' });

    const other = yamlBody.replace('owner: a', 'owner: b');
    const conflict = await raw('PATCH', '/api/v1/namespaces/team-x?fieldManager=second', {
      body: other,
      contentType: 'application/apply-patch+yaml',
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ reason: 'Conflict', message: expect.stringContaining('conflict with "first"') });

    const forced = await raw('PATCH', '/api/v1/namespaces/team-x?fieldManager=second&force=true', {
      body: other,
      contentType: 'application/apply-patch+yaml',
    });
    expect(forced.status).toBe(200);
    expect(forced.body.metadata.labels.owner).toBe('b');
    expect(forced.body.metadata.managedFields.map((m: any) => m.manager)).toEqual(['second']);

    const mismatch = await raw('PATCH', '/api/v1/namespaces/team-y?fieldManager=first', {
      body: yamlBody,
      contentType: 'application/apply-patch+yaml',
    });
    expect(mismatch.status).toBe(400);
  });

  it('creates with POST and merge-patches, recording the managers', async () => {
    await client.apply([renderNamespace(renderContext(exampleSettings, exampleRequest))] as any);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: NS }, data: { a: '1' } };
    const created = (await objects.create(cm, undefined, undefined, 'creator')) as Obj;
    expect(created.metadata!.managedFields).toEqual([expect.objectContaining({ manager: 'creator', operation: 'Update' })]);
    const duplicate = await apiError(objects.create(cm));
    expect(duplicate.code).toBe(409);
    expect(statusOf(duplicate)).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "settings" already exists' });

    const patched = (await objects.patch(
      { ...cm, data: { b: '2' } },
      undefined,
      undefined,
      'patcher',
      undefined,
      PatchStrategy.MergePatch,
    )) as any;
    expect(patched.data).toEqual({ a: '1', b: '2' });
    expect(patched.metadata.managedFields.map((m: any) => m.manager)).toEqual(['creator', 'patcher']);

    const dry = (await objects.patch(
      { ...cm, data: { c: '3' } },
      undefined,
      'All',
      'golden-path-idp',
      true,
      PatchStrategy.ServerSideApply,
    )) as any;
    expect(dry.data).toEqual({ a: '1', b: '2', c: '3' });
    expect(((await read(cm)) as any).data).toEqual({ a: '1', b: '2' });

    const listed = await raw('GET', `/api/v1/configmaps?labelSelector=missing`);
    expect(listed.body).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1', items: [] });
    const all = await raw('GET', `/api/v1/configmaps?fieldSelector=metadata.name%3Dsettings`);
    expect(all.body.items.map((i: any) => i.metadata.namespace)).toEqual([NS]);
  });

  it('keeps objects across a restart', async () => {
    await client.apply(bundle() as any);
    const before = await read(bundle()[0]);
    await stop();
    await start();
    expect(await client.namespaceExists(NS)).toBe(true);
    expect((await read(bundle()[0])).metadata!.uid).toBe(before.metadata!.uid);
    expect(await count('networking.k8s.io/v1', 'NetworkPolicy')).toBe(renderNetworkPolicies(renderContext(exampleSettings, exampleRequest)).length);
  });

  it('fails the first NetworkPolicy apply when a fault rule says so', async () => {
    const rule = await fetch(`${sandbox!.urls.kubernetes}/__admin/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ service: 'kubernetes', operation: 'PATCH networkpolicies', failNth: 1, status: 500 }),
    });
    expect(rule.status).toBe(200);

    const rendered = bundle();
    const failure = client.apply(rendered as any);
    await expect(failure).rejects.toThrow(/applying NetworkPolicy payments-api\/.* failed \(HTTP 500\)/);
    // The Namespace went through; the second attempt completes the bundle.
    expect(await client.namespaceExists(NS)).toBe(true);
    await client.apply(rendered as any);
    expect(await count('networking.k8s.io/v1', 'NetworkPolicy')).toBe(renderNetworkPolicies(renderContext(exampleSettings, exampleRequest)).length);

    const log = sandbox!.faults.log.filter(l => l.startsWith('kubernetes ')).map(l => l.slice('kubernetes '.length));
    expect(log).toEqual(expect.arrayContaining(['discovery', 'PATCH namespaces', 'PATCH networkpolicies', 'GET namespaces']));
    for (const op of log) expect(KUBERNETES_OPERATIONS).toContain(op);
  });

  it('names operations', () => {
    expect(kubernetesOperationOf({ method: 'PATCH', path: '/apis/networking.k8s.io/v1/namespaces/a/networkpolicies/b' })).toBe('PATCH networkpolicies');
    expect(kubernetesOperationOf({ method: 'DELETE', path: '/api/v1/namespaces/a' })).toBe('DELETE namespaces');
    expect(kubernetesOperationOf({ method: 'GET', path: '/api/v1/namespaces' })).toBe('GET namespaces');
    expect(kubernetesOperationOf({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1' })).toBe('discovery');
    expect(kubernetesOperationOf({ method: 'GET', path: '/api/v1/pods' })).toBe('GET /api/v1/pods');
  });

  it('answers 400 for a bad apply body (InputError through the client)', async () => {
    const bad = { ...renderNamespace(renderContext(exampleSettings, exampleRequest)), metadata: { name: 'Not_Valid' } };
    await expect(client.apply([bad] as any)).rejects.toMatchObject({ name: 'InputError' });
  });
});
