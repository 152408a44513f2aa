import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyedMutex, Store, UniqueNameError } from './store';

describe('Store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-store-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('files objects by id, unique name and parent, and keeps them across a reopen', () => {
    let store = new Store(path.join(dir, 'x.db'));
    const things = store.collection<{ id: number; path: string; group: number }>('thing', t => ({
      id: t.id,
      parent: t.group,
      name: t.path.toLowerCase(),
    }));
    things.put({ id: 1, path: 'A/b', group: 7 });
    things.put({ id: 2, path: 'A/c', group: 7 });
    things.put({ id: 3, path: 'B/c', group: 8 });
    expect(() => things.put({ id: 4, path: 'a/B', group: 8 })).toThrow(UniqueNameError);
    expect(things.byName('a/b')).toEqual({ id: 1, path: 'A/b', group: 7 });
    expect(things.list({ parent: 7 }).map(t => t.id)).toEqual([1, 2]);
    things.put({ id: 1, path: 'A/b', group: 8 });
    expect(things.list({ parent: 8 }).map(t => t.id)).toEqual([1, 3]);
    expect(store.next('thing')).toBe(1);
    expect(store.next('thing')).toBe(2);
    store.close();

    store = new Store(path.join(dir, 'x.db'));
    const again = store.collection<{ id: number; path: string; group: number }>('thing', t => ({ id: t.id }));
    expect(again.count()).toBe(3);
    expect(store.next('thing')).toBe(3);
    store.close();
  });

  it('stays consistent when the writing process is SIGKILLed mid-write', async () => {
    const file = path.join(dir, 'killed.db');
    for (let round = 0; round < 3; round++) {
      const child = spawn(
        process.execPath,
        ['--require', require.resolve('@backstage/cli/config/nodeTransform.cjs'), path.join(__dirname, '__testUtils__', 'storeWriter.ts'), file],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', () => resolve());
        child.on('exit', code => reject(new Error(`writer exited early (${code})`)));
      });
      await new Promise(r => setTimeout(r, 100 + round * 50));
      child.kill('SIGKILL');
      await new Promise(r => child.once('exit', r));

      const store = new Store(file);
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      const items = store.collection<{ id: number; payload: string }>('item', i => ({ id: i.id }));
      const count = items.count();
      // Every committed transaction wrote one row and moved the counter by one.
      expect(count).toBe(store.current('item'));
      expect(count).toBeGreaterThan(0);
      expect(items.get(count)?.payload).toHaveLength(2000);
      store.close();
      // eslint-disable-next-line no-console
      console.log(`round ${round + 1}: ${count} rows after SIGKILL, database intact`);
    }
  }, 60_000);
});

describe('KeyedMutex', () => {
  it('runs work of one key in order and different keys concurrently', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const job = (key: string, name: string, ms: number) =>
      mutex.run(key, async () => {
        events.push(`start ${name}`);
        await new Promise(r => setTimeout(r, ms));
        events.push(`end ${name}`);
      });
    await Promise.all([job('a', 'a1', 30), job('a', 'a2', 1), job('b', 'b1', 5)]);
    expect(events.indexOf('end a1')).toBeLessThan(events.indexOf('start a2'));
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'));
    // A failure does not block the next one.
    await expect(mutex.run('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(mutex.run('a', async () => 'ok')).resolves.toBe('ok');
  });
});
