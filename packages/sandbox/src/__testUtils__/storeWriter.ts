/*
 * Writes to a Store as fast as it can until it is killed: each transaction
 * takes the next id from a counter and stores a row with that id, so a
 * consistent database always has exactly as many rows as the counter says.
 */
import { Store } from '../store';

const store = new Store(process.argv[2]);
const items = store.collection<{ id: number; payload: string }>('item', i => ({ id: i.id }));
let written = 0;
for (;;) {
  store.transaction(() => {
    const id = store.next('item');
    items.put({ id, payload: 'x'.repeat(2000) });
  });
  written += 1;
  if (written === 50) process.stdout.write('writing\n');
}
