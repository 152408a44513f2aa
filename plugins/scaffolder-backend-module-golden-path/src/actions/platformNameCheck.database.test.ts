import { randomBytes } from 'node:crypto';
import { PostgresAdminClient, SecretWriterApi } from '@internal/plugin-golden-path-node';
import { TEST_SETTINGS, goldenPathHarness } from '../__testUtils__/goldenPathRun';
import { PlatformSettings } from '../render/types';
import { ActionDeps } from './deps';
import { placesTaken } from './platformNameCheck';

/**
 * The name check against the machine's real PostgreSQL: a database or a
 * role of the service's name is "taken", whether or not this Create asks
 * for a database.
 */
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
const prefix = `gpn${randomBytes(3).toString('hex')}_`;
const settings: PlatformSettings = {
  ...TEST_SETTINGS,
  database: { host: '127.0.0.1', port: 5432, sslMode: 'require', namePrefix: prefix },
};
const admin = new PostgresAdminClient({ connection: ADMIN });
const noSecrets = {} as SecretWriterApi;

async function depsFor(h: ReturnType<typeof goldenPathHarness>): Promise<ActionDeps> {
  const { runs } = await h.ready;
  const w = h.world;
  return {
    settings,
    runs,
    clients: {
      gitlab: w.gitlab,
      aws: w.aws,
      argocd: w.argocd,
      kubernetes: w.kubernetes,
      catalog: w.catalog,
      database: { admin, secrets: noSecrets },
    },
  };
}

afterAll(async () => {
  await admin.dropDatabase(`${prefix}orders`);
  await admin.dropRole(`${prefix}orders`);
  await admin.dropRole(`${prefix}billing`);
  await admin.close();
});

describe('idp:platform:name:check with a database server', () => {
  const h = goldenPathHarness(undefined, undefined, { settings });
  afterAll(() => h.cleanup());

  it('finds a free name free', async () => {
    const deps = await depsFor(h);
    expect(await placesTaken(deps, (await h.ready).runs.plan({ name: 'orders', owner: '' }, []))).toEqual([]);
  });

  it('reports a database of that name', async () => {
    await admin.createRole(`${prefix}orders`, {});
    await admin.createDatabase(`${prefix}orders`, `${prefix}orders`, {});
    const deps = await depsFor(h);
    expect(
      await placesTaken(deps, (await h.ready).runs.plan({ name: 'orders', owner: '' }, [])),
    ).toEqual([`PostgreSQL database ${prefix}orders`, `PostgreSQL role ${prefix}orders`]);
  });

  it('reports a role of that name alone', async () => {
    await admin.createRole(`${prefix}billing`, {});
    const deps = await depsFor(h);
    expect(
      await placesTaken(deps, (await h.ready).runs.plan({ name: 'billing', owner: '' }, [])),
    ).toEqual([`PostgreSQL role ${prefix}billing`]);
  });

  it('does not ask PostgreSQL on a platform without a database server', async () => {
    const deps = await depsFor(h);
    const plan = (await h.ready).runs.plan({ name: 'billing', owner: '' }, []);
    expect(
      await placesTaken(deps, { ...plan, settings: { ...plan.settings, database: undefined } }),
    ).toEqual([]);
  });
});
