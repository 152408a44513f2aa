import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DeleteSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import { RunningSandbox, startDefaultSandbox } from '@internal/sandbox';
import { setupServer } from 'msw/node';
import { http, HttpResponse } from 'msw';
import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { SecretsManagerStore } from './SecretsManagerStore';
import { VaultKvStore } from './VaultKvStore';

const tags = { 'golden-path-idp/run': 'run-1', 'golden-path-idp/service': 'svc' };

describe('SecretsManagerStore (against the sandbox Secrets Manager)', () => {
  let root: string;
  let sandbox: RunningSandbox;
  let store: SecretsManagerStore;
  let reader: SecretsManagerClient;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-store-'));
    sandbox = await startDefaultSandbox({
      dataDir: root,
      ports: { gitlab: 0, argocd: 0, aws: 0, kubernetes: 0 },
    });
    store = SecretsManagerStore.fromSettings({
      accountId: '000000000000',
      region: 'eu-west-1',
      ecrRegistry: 'unused',
      endpoint: sandbox.urls.aws,
    });
    reader = new SecretsManagerClient({
      region: 'eu-west-1',
      endpoint: sandbox.urls.aws,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    reader.destroy();
    (store as unknown as { client: SecretsManagerClient }).client.destroy();
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const value = async (id: string) =>
    JSON.parse((await reader.send(new GetSecretValueCommand({ SecretId: id }))).SecretString!);

  it('creates a secret with tags, finds it, and replaces its value', async () => {
    const p = 'idp/svc-a/database';
    expect(await store.findSecret(p)).toBeUndefined();
    await store.putSecret(p, { password: 'first-password-0123456789' }, tags);
    expect(await store.findSecret(p)).toEqual({ path: p, tags });
    expect(await value(p)).toEqual({ password: 'first-password-0123456789' });
    await store.putSecret(p, { password: 'second-password-0123456789' }, tags);
    expect(await value(p)).toEqual({ password: 'second-password-0123456789' });
  });

  it('deletes for good (the path can be created again at once); deleting again is fine', async () => {
    const p = 'idp/svc-b/database';
    await store.putSecret(p, { password: 'x'.repeat(20) }, tags);
    await store.deleteSecret(p);
    expect(await store.findSecret(p)).toBeUndefined();
    await expect(store.deleteSecret(p)).resolves.toBeUndefined();
    await store.putSecret(p, { password: 'y'.repeat(20) }, tags);
    expect(await value(p)).toEqual({ password: 'y'.repeat(20) });
  });

  it('says a secret scheduled for deletion blocks the path, as ConflictError', async () => {
    const p = 'idp/svc-c/database';
    await store.putSecret(p, { password: 'z'.repeat(20) }, tags);
    await reader.send(
      new DeleteSecretCommand({ SecretId: p, RecoveryWindowInDays: 7 }),
    );
    expect(await store.findSecret(p)).toBeUndefined();
    await expect(store.putSecret(p, { password: 'w'.repeat(20) }, tags)).rejects.toBeInstanceOf(
      ConflictError,
    );
  });
});

describe('VaultKvStore (Vault KV v2 HTTP API)', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  const vault = 'https://vault.example.test';
  const kv = new Map<string, { data: Record<string, string>; meta: Record<string, string> }>();

  beforeEach(() => {
    kv.clear();
    const authorised = (request: Request) =>
      request.headers.get('x-vault-token') === 'vault-test-token';
    server.use(
      http.post(`${vault}/v1/secret/data/*`, async ({ request, params }) => {
        if (!authorised(request)) return HttpResponse.json({ errors: ['permission denied'] }, { status: 403 });
        const key = String(params[0]);
        const { data } = (await request.json()) as { data: Record<string, string> };
        kv.set(key, { data, meta: kv.get(key)?.meta ?? {} });
        return HttpResponse.json({ data: { version: 1 } });
      }),
      http.post(`${vault}/v1/secret/metadata/*`, async ({ request, params }) => {
        if (!authorised(request)) return HttpResponse.json({ errors: ['permission denied'] }, { status: 403 });
        const key = String(params[0]);
        const { custom_metadata } = (await request.json()) as { custom_metadata: Record<string, string> };
        const entry = kv.get(key);
        if (entry) entry.meta = custom_metadata;
        return new HttpResponse(null, { status: 204 });
      }),
      http.get(`${vault}/v1/secret/metadata/*`, ({ params }) => {
        const entry = kv.get(String(params[0]));
        if (!entry) return HttpResponse.json({ errors: [] }, { status: 404 });
        return HttpResponse.json({ data: { custom_metadata: entry.meta } });
      }),
      http.delete(`${vault}/v1/secret/metadata/*`, ({ params }) => {
        kv.delete(String(params[0]));
        return new HttpResponse(null, { status: 204 });
      }),
    );
  });

  const store = (token = 'vault-test-token') =>
    new VaultKvStore({ server: `${vault}/`, kvMount: 'secret', token });

  it('writes the data and our marker as custom metadata, finds it, deletes it', async () => {
    const p = 'idp/svc/database';
    expect(await store().findSecret(p)).toBeUndefined();
    await store().putSecret(p, { password: 'p'.repeat(20) }, tags);
    expect(kv.get(p)).toEqual({ data: { password: 'p'.repeat(20) }, meta: tags });
    expect(await store().findSecret(p)).toEqual({ path: p, tags });
    await store().deleteSecret(p);
    expect(kv.has(p)).toBe(false);
  });

  it('maps a refused token to NotAllowedError naming the path, without the token', async () => {
    const error = await store('wrong-token')
      .putSecret('idp/svc/database', { password: 'p'.repeat(20) }, tags)
      .catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toContain('idp/svc/database');
    expect(error.message).toContain('403');
    expect(error.message).not.toContain('wrong-token');
  });
});
