import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServiceFactoryTester, mockServices } from '@backstage/backend-test-utils';
import { checkedDatabaseServiceFactory } from './portalDatabase';

/** The local portal's SQLite databases run in write-ahead-log mode (see withSqliteWal). */
describe('the portal database service on SQLite', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sqlite-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function pragmas(connection: string | { directory: string }) {
    const tester = ServiceFactoryTester.from(checkedDatabaseServiceFactory, {
      dependencies: [
        mockServices.rootConfig.factory({
          data: { backend: { database: { client: 'better-sqlite3', connection } } },
        }),
      ],
    });
    const database = await tester.getSubject('catalog');
    const knex = await database.getClient();
    const [{ journal_mode }] = await knex.raw('PRAGMA journal_mode');
    const [{ synchronous }] = await knex.raw('PRAGMA synchronous');
    await knex.destroy();
    return { journal_mode, synchronous };
  }

  it('puts a file database in WAL mode with synchronous = NORMAL, and it stays WAL', async () => {
    await expect(pragmas({ directory: dir })).resolves.toEqual({ journal_mode: 'wal', synchronous: 1 });
    const files = fs.readdirSync(dir);
    expect(files.some(f => f.endsWith('.sqlite'))).toBe(true);
    // A second connection to the same file (a restarted portal) finds WAL.
    await expect(pragmas({ directory: dir })).resolves.toMatchObject({ journal_mode: 'wal' });
  });

  it('leaves an in-memory database alone', async () => {
    await expect(pragmas(':memory:')).resolves.toMatchObject({ journal_mode: 'memory' });
  });
});
