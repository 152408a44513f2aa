import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** How a collection files one object: its id, and optional look-up columns. */
export interface RowKeys {
  id: string | number;
  /** Owner of the object (project id, namespace, ...), listed with {@link Collection.list}. */
  parent?: string | number | null;
  /** A unique look-up key within the collection (e.g. a lower-cased full path). */
  name?: string | null;
}

/** Raised when a unique `name` is taken (the caller checked too late). */
export class UniqueNameError extends Error {
  name = 'UniqueNameError';
}

/**
 * The objects of one kind: one row per object, JSON in `data`, found by id,
 * by unique `name` or listed by `parent`, in creation order. Every call is
 * one indexed statement, so its cost does not grow with the number of rows.
 */
export class Collection<T> {
  readonly #get: Database.Statement;
  readonly #byName: Database.Statement;
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #deleteByParent: Database.Statement;
  readonly #listAll: Database.Statement;
  readonly #listByParent: Database.Statement;
  readonly #countAll: Database.Statement;
  readonly #listByPrefix: Database.Statement;

  constructor(
    db: Database.Database,
    readonly kind: string,
    private readonly keys: (value: T) => RowKeys,
  ) {
    const k = JSON.stringify(kind).replace(/"/g, "'");
    this.#get = db.prepare(`SELECT data FROM objects WHERE kind = ${k} AND id = ?`);
    this.#byName = db.prepare(`SELECT data FROM objects WHERE kind = ${k} AND name = ?`);
    this.#put = db.prepare(
      `INSERT INTO objects (kind, id, parent, name, data) VALUES (${k}, ?, ?, ?, ?)
       ON CONFLICT (kind, id) DO UPDATE SET parent = excluded.parent, name = excluded.name, data = excluded.data`,
    );
    this.#delete = db.prepare(`DELETE FROM objects WHERE kind = ${k} AND id = ?`);
    this.#deleteByParent = db.prepare(`DELETE FROM objects WHERE kind = ${k} AND parent = ?`);
    this.#listAll = db.prepare(`SELECT data FROM objects WHERE kind = ${k} ORDER BY seq LIMIT ? OFFSET ?`);
    this.#listByParent = db.prepare(
      `SELECT data FROM objects WHERE kind = ${k} AND parent = ? ORDER BY seq LIMIT ? OFFSET ?`,
    );
    this.#countAll = db.prepare(`SELECT count(*) AS n FROM objects WHERE kind = ${k}`);
    this.#listByPrefix = db.prepare(
      `SELECT data FROM objects WHERE kind = ${k} AND parent >= ? AND parent < ? ORDER BY seq`,
    );
  }

  get(id: string | number): T | undefined {
    const row = this.#get.get(String(id)) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** The object whose unique `name` (as filed by the key function) is `name`. */
  byName(name: string): T | undefined {
    const row = this.#byName.get(name) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** Inserts or replaces the object. */
  put(value: T): T {
    const { id, parent, name } = this.keys(value);
    try {
      this.#put.run(String(id), parent === undefined || parent === null ? null : String(parent), name ?? null, JSON.stringify(value));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new UniqueNameError(`${this.kind} ${name} exists`);
      }
      throw error;
    }
    return value;
  }

  delete(id: string | number): boolean {
    return this.#delete.run(String(id)).changes > 0;
  }

  deleteByParent(parent: string | number): number {
    return this.#deleteByParent.run(String(parent)).changes;
  }

  /** Objects in creation order, all or those of `parent`. */
  list(opts: { parent?: string | number; limit?: number; offset?: number } = {}): T[] {
    const limit = opts.limit ?? -1;
    const offset = opts.offset ?? 0;
    const rows = (
      opts.parent === undefined
        ? this.#listAll.all(limit, offset)
        : this.#listByParent.all(String(opts.parent), limit, offset)
    ) as { data: string }[];
    return rows.map(r => JSON.parse(r.data) as T);
  }

  /** Objects whose `parent` starts with `prefix`, in creation order. */
  listPrefix(prefix: string): T[] {
    const rows = this.#listByPrefix.all(prefix, `${prefix}\uffff`) as { data: string }[];
    return rows.map(r => JSON.parse(r.data) as T);
  }

  count(): number {
    return (this.#countAll.get() as { n: number }).n;
  }
}

/**
 * A fake's persistent state: one SQLite database (`<dataDir>/<name>.db`)
 * in WAL mode. A change writes only the rows it touches, in one
 * transaction, so it stays cheap however many objects exist, and a process
 * killed mid-write leaves the last committed state behind.
 */
export class Store {
  readonly db: Database.Database;
  readonly #counter: Database.Statement;
  readonly #peek: Database.Statement;
  readonly #setCounter: Database.Statement;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // With WAL, NORMAL loses nothing when the process dies; only a power cut may.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        parent TEXT,
        name TEXT,
        data TEXT NOT NULL,
        UNIQUE (kind, id)
      );
      CREATE INDEX IF NOT EXISTS objects_parent ON objects (kind, parent, seq);
      CREATE UNIQUE INDEX IF NOT EXISTS objects_name ON objects (kind, name) WHERE name IS NOT NULL;
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.#counter = this.db.prepare(
      `INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`,
    );
    this.#peek = this.db.prepare('SELECT value FROM counters WHERE name = ?');
    this.#setCounter = this.db.prepare(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
  }

  collection<T>(kind: string, keys: (value: T) => RowKeys): Collection<T> {
    return new Collection<T>(this.db, kind, keys);
  }

  /** The next value of counter `name` (1, 2, … or from `start`), persisted. */
  next(name: string, start = 1): number {
    return (this.#counter.get(name, start) as { value: number }).value;
  }

  /** The last value handed out by {@link next} (0 before the first). */
  current(name: string): number {
    return (this.#peek.get(name) as { value: number } | undefined)?.value ?? 0;
  }

  /** Sets a counter (for seeding and imports). */
  setCounter(name: string, value: number): void {
    this.#setCounter.run(name, value);
  }

  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<R>(fn: () => R): R {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Serialises async work per key (e.g. per git repository): calls with the
 * same key run one after another, different keys run concurrently.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
