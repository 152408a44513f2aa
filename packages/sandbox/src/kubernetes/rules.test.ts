import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { RunningSandbox, SandboxFakeFactory, startSandbox } from '../server';
import { kubernetesFake } from './index';

const stub: SandboxFakeFactory = () => ({ router: express.Router(), operationOf: () => 'x' });

describe('kubernetesFake: names, creates and the extra kinds', () => {
  let dataDir: string;
  let sandbox: RunningSandbox;

  const call = async (method: string, p: string, body?: object, contentType = 'application/json') => {
    const res = await fetch(`${sandbox.urls.kubernetes}${p}`, {
      method,
      headers: { authorization: 'Bearer t', 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const namespace = (name: string, labels: Record<string, string> = {}) =>
    call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-k8s-rules-'));
    sandbox = await startSandbox({
      dataDir,
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
      fakes: { gitlab: stub, argocd: stub, aws: stub, kubernetes: kubernetesFake },
    });
  });

  afterEach(async () => {
    await sandbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a namespace once: a second create is 409 AlreadyExists, never adopted', async () => {
    expect((await namespace('shop', { team: 'a' })).status).toBe(201);
    const again = await namespace('shop', { team: 'b' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', message: 'namespaces "shop" already exists', code: 409 });
    expect((await call('GET', '/api/v1/namespaces/shop')).body.metadata.labels.team).toBe('a');
  });

  it.each([
    ['a namespace that is not a DNS-1123 label', () => namespace('Shop_1'), /RFC 1123 label/],
    ['a namespace in the reserved kube- range', () => namespace('kube-mine'), /prefix "kube-" is reserved/],
    ['a namespace longer than 63 characters', () => namespace('n'.repeat(64)), /no more than 63 characters/],
  ])('refuses %s with 422 Invalid', async (_what, create, message) => {
    const res = await create();
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
    expect(res.body.message).toMatch(message);
  });

  it('checks Service names as DNS-1035 labels and other names as DNS-1123 subdomains', async () => {
    await namespace('shop');
    const service = (name: string) =>
      call('POST', '/api/v1/namespaces/shop/services', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });
    const digit = await service('1api');
    expect(digit.status).toBe(422);
    expect(digit.body.message).toMatch(/DNS-1035 label/);
    expect((await service('api.v1')).status).toBe(422);
    expect((await service('api')).status).toBe(201);
    const configMap = await call('POST', '/api/v1/namespaces/shop/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: '1.config.v2' },
    });
    expect(configMap.status).toBe(201);
  });

  it('serves ResourceQuota, LimitRange and SecretStore, and lists by label selector', async () => {
    await namespace('shop', { tier: 'gold' });
    await namespace('blog', { tier: 'free' });
    const apply = (p: string, object: object) =>
      fetch(`${sandbox.urls.kubernetes}${p}?fieldManager=golden-path-idp`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer t', 'content-type': 'application/apply-patch+yaml' },
        body: JSON.stringify(object),
      }).then(r => r.status);
    expect(
      await apply('/api/v1/namespaces/shop/resourcequotas/quota', {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'quota', namespace: 'shop' },
        spec: { hard: { 'requests.cpu': '2' } },
      }),
    ).toBe(201);
    expect(
      await apply('/api/v1/namespaces/shop/limitranges/limits', {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'limits', namespace: 'shop' },
        spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] },
      }),
    ).toBe(201);
    expect(
      await apply('/apis/external-secrets.io/v1/namespaces/shop/secretstores/aws', {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'aws', namespace: 'shop' },
        spec: { provider: { aws: { service: 'SecretsManager', region: 'eu-west-1' } } },
      }),
    ).toBe(201);
    expect((await call('GET', '/apis/external-secrets.io/v1/namespaces/shop/secretstores')).body.items).toHaveLength(1);
    expect((await call('GET', '/api/v1/namespaces/shop/resourcequotas/quota')).body.spec.hard).toEqual({ 'requests.cpu': '2' });

    const byLabel = (selector: string) =>
      call('GET', `/api/v1/namespaces?labelSelector=${encodeURIComponent(selector)}`).then(r =>
        r.body.items.map((n: any) => n.metadata.name).sort(),
      );
    expect(await byLabel('tier=gold')).toEqual(['shop']);
    expect(await byLabel('tier!=gold')).toEqual(['blog']);
    expect(await byLabel('tier')).toEqual(['blog', 'shop']);
    expect(await byLabel('kubernetes.io/metadata.name=blog')).toEqual(['blog']);
  });
});
