import { Knex } from 'knex';
import { JsonValue } from '@backstage/types';

/**
 * The durable journal of golden-path runs, in the scaffolder plugin's own
 * database (through Backstage's database service): SQLite locally,
 * PostgreSQL in production, with its own knex migrations table so it never
 * touches the scaffolder's.
 *
 * A run is one scaffolder task's work on one service. Its record holds the
 * unguessable run marker stamped on everything it creates, its state, the
 * plan it executes (so any replica, after any restart, can finish or undo
 * it), and one row per step. The service name is claimed in its own table,
 * so of two concurrent runs for one name, on any replica, exactly one gets
 * past the claim.
 */

/** Where a run is in its life. */
export type RunState =
  /** Creating (or replaying after a crash). */
  | 'running'
  /** Everything was created; nothing will ever undo it. */
  | 'completed'
  /** Undoing what it created. */
  | 'rolling_back'
  /** Undone completely. */
  | 'rolled_back'
  /** Undone as far as possible; some resources must be removed by hand. */
  | 'needs_attention';

/** What a run does to its service. */
export type RunKind = 'create' | 'decommission' | 'upgrade';

/** Where a step is. */
export type StepState =
  /** About to act, or acting: the resource may or may not exist. */
  | 'started'
  /** Done; `resource` holds its ids. */
  | 'done'
  /** Undone (or found gone). */
  | 'undone'
  /** Its undo failed; see `error`. */
  | 'undo_failed'
  /** Found a resource that is not this run's: left alone. */
  | 'left';

export interface RunRecord {
  taskId: string;
  serviceName: string;
  kind: RunKind;
  marker: string;
  state: RunState;
  createdBy?: string;
  /** The plan the run executes (JSON), written once at the start. */
  plan: JsonValue;
  error?: string;
  createdAt: Date;
  updatedAt: Date;
  leaseOwner?: string;
  leaseExpiresAt?: number;
}

export interface StepRecord {
  taskId: string;
  step: string;
  state: StepState;
  resource?: JsonValue;
  error?: string;
  updatedAt: Date;
}

const RUNS = 'golden_path_runs';
const STEPS = 'golden_path_run_steps';
const CLAIMS = 'golden_path_name_claims';

/** Migrations, in order. Kept in code so the bundle needs no extra files. */
const MIGRATIONS: Record<string, Knex.Migration> = {
  '20261202_01_runs': {
    async up(knex) {
      await knex.schema.createTable(RUNS, table => {
        table.string('task_id', 255).primary();
        table.string('service_name', 255).notNullable().index();
        table.string('kind', 32).notNullable();
        table.string('marker', 64).notNullable().unique();
        table.string('state', 32).notNullable().index();
        table.string('created_by', 255).nullable();
        table.text('plan', 'longtext').notNullable();
        table.text('error').nullable();
        table.timestamp('created_at').notNullable().defaultTo(knex.fn.now());
        table.timestamp('updated_at').notNullable().defaultTo(knex.fn.now());
        table.string('lease_owner', 255).nullable();
        table.bigInteger('lease_expires_at').nullable();
      });
      await knex.schema.createTable(STEPS, table => {
        table.string('task_id', 255).notNullable();
        table.string('step', 255).notNullable();
        table.string('state', 32).notNullable();
        table.text('resource').nullable();
        table.text('error').nullable();
        table.timestamp('updated_at').notNullable().defaultTo(knex.fn.now());
        table.primary(['task_id', 'step']);
      });
      await knex.schema.createTable(CLAIMS, table => {
        table.string('service_name', 255).primary();
        table.string('task_id', 255).notNullable();
        table.timestamp('created_at').notNullable().defaultTo(knex.fn.now());
      });
    },
    async down(knex) {
      await knex.schema.dropTable(CLAIMS);
      await knex.schema.dropTable(STEPS);
      await knex.schema.dropTable(RUNS);
    },
  },
};

/**
 * Runs the journal's migrations. Idempotent, and safe when every replica
 * starts at once: knex locks the migration itself, but two processes can
 * race to create its bookkeeping tables, so an "already exists" is retried.
 */
export async function migrateRunStore(knex: Knex): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await knex.migrate.latest({
        tableName: 'golden_path_knex_migrations',
        migrationSource: {
          getMigrations: async () => Object.keys(MIGRATIONS).sort(),
          getMigrationName: (name: unknown) => String(name),
          getMigration: async (name: unknown) => MIGRATIONS[String(name)],
        },
      });
      return;
    } catch (error) {
      const racing = /already exists|duplicate key|UNIQUE constraint/i.test(
        String((error as Error)?.message),
      );
      if (!racing || attempt >= 5) throw error;
      await new Promise(r => setTimeout(r, 50 * attempt));
    }
  }
}

/** The name is claimed by another run that is still active or completed. */
export class NameClaimedError extends Error {
  name = 'NameClaimedError';
  constructor(readonly serviceName: string, readonly byTask: string) {
    super(`Service name "${serviceName}" is claimed by run ${byTask}`);
  }
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === '23505' || // PostgreSQL
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed|duplicate key/i.test(e?.message ?? '')
  );
}

const json = (value: JsonValue | undefined) =>
  value === undefined ? null : JSON.stringify(value);
const parse = (text: unknown): any =>
  typeof text === 'string' ? JSON.parse(text) : undefined;
const toDate = (value: unknown) =>
  value instanceof Date ? value : new Date(String(value));

function toRun(row: any): RunRecord {
  return {
    taskId: row.task_id,
    serviceName: row.service_name,
    kind: row.kind,
    marker: row.marker,
    state: row.state,
    createdBy: row.created_by ?? undefined,
    plan: parse(row.plan),
    error: row.error ?? undefined,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    leaseOwner: row.lease_owner ?? undefined,
    leaseExpiresAt:
      row.lease_expires_at === null || row.lease_expires_at === undefined
        ? undefined
        : Number(row.lease_expires_at),
  };
}

function toStep(row: any): StepRecord {
  return {
    taskId: row.task_id,
    step: row.step,
    state: row.state,
    resource: parse(row.resource),
    error: row.error ?? undefined,
    updatedAt: toDate(row.updated_at),
  };
}

/** Runs in these states hold their service name. */
const CLAIMING_STATES: RunState[] = [
  'running',
  'completed',
  'rolling_back',
  'needs_attention',
];

/** See the module comment. All writes are single statements or transactions. */
export class RunStore {
  constructor(
    private readonly db: Knex,
    private readonly now: () => number = Date.now,
  ) {}

  /** A store on `db` with the migrations applied. */
  static async create(db: Knex, now?: () => number): Promise<RunStore> {
    await migrateRunStore(db);
    return new RunStore(db, now);
  }

  /**
   * Starts the run of `taskId`, claiming its service name, or returns the
   * existing run of that task (a replay). Throws {@link NameClaimedError}
   * when another run that is active, completed or waiting for a human holds
   * the name.
   */
  async start(run: {
    taskId: string;
    serviceName: string;
    kind: RunKind;
    marker: string;
    createdBy?: string;
    plan: JsonValue;
  }): Promise<RunRecord> {
    const existing = await this.get(run.taskId);
    if (existing) return existing;
    try {
      await this.db.transaction(async tx => {
        const claim = await tx(CLAIMS)
          .where({ service_name: run.serviceName })
          .first();
        if (claim) {
          const holder = await tx(RUNS).where({ task_id: claim.task_id }).first();
          if (holder && CLAIMING_STATES.includes(holder.state)) {
            throw new NameClaimedError(run.serviceName, claim.task_id);
          }
          // A stale claim (its run was rolled back): take it over.
          await tx(CLAIMS)
            .where({ service_name: run.serviceName, task_id: claim.task_id })
            .delete();
        }
        await tx(CLAIMS).insert({
          service_name: run.serviceName,
          task_id: run.taskId,
        });
        await tx(RUNS).insert({
          task_id: run.taskId,
          service_name: run.serviceName,
          kind: run.kind,
          marker: run.marker,
          state: 'running',
          created_by: run.createdBy ?? null,
          plan: json(run.plan),
        });
      });
    } catch (error) {
      if (error instanceof NameClaimedError) throw error;
      if (isUniqueViolation(error)) {
        // Lost a race: either our own task on another replica started the
        // run first (a replay), or another run claimed the name.
        const mine = await this.get(run.taskId);
        if (mine) return mine;
        const claim = await this.db(CLAIMS)
          .where({ service_name: run.serviceName })
          .first();
        throw new NameClaimedError(run.serviceName, claim?.task_id ?? 'unknown');
      }
      throw error;
    }
    return (await this.get(run.taskId))!;
  }

  /**
   * Starts a run that does not claim a name (decommission and upgrade act on
   * a name that an earlier run holds), or returns the existing one.
   */
  async startUnclaimed(run: {
    taskId: string;
    serviceName: string;
    kind: RunKind;
    marker: string;
    createdBy?: string;
    plan: JsonValue;
  }): Promise<RunRecord> {
    const existing = await this.get(run.taskId);
    if (existing) return existing;
    try {
      await this.db(RUNS).insert({
        task_id: run.taskId,
        service_name: run.serviceName,
        kind: run.kind,
        marker: run.marker,
        state: 'running',
        created_by: run.createdBy ?? null,
        plan: json(run.plan),
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    return (await this.get(run.taskId))!;
  }

  /** Replaces the run's plan (a later action of the task planned more). */
  async savePlan(taskId: string, plan: JsonValue): Promise<void> {
    await this.db(RUNS)
      .where({ task_id: taskId })
      .update({ plan: json(plan), updated_at: this.db.fn.now() });
  }

  async get(taskId: string): Promise<RunRecord | undefined> {
    const row = await this.db(RUNS).where({ task_id: taskId }).first();
    return row ? toRun(row) : undefined;
  }

  async byMarker(marker: string): Promise<RunRecord | undefined> {
    const row = await this.db(RUNS).where({ marker }).first();
    return row ? toRun(row) : undefined;
  }

  /** The completed create run of a service, if any (the one whose marker its resources carry). */
  async completedCreateOf(serviceName: string): Promise<RunRecord | undefined> {
    const row = await this.db(RUNS)
      .where({ service_name: serviceName, kind: 'create', state: 'completed' })
      .orderBy('created_at', 'desc')
      .first();
    return row ? toRun(row) : undefined;
  }

  /** Every run of `serviceName` of one kind, newest first. */
  async runsOf(serviceName: string, kind: RunKind): Promise<RunRecord[]> {
    const rows = await this.db(RUNS)
      .where({ service_name: serviceName, kind })
      .orderBy('created_at', 'desc');
    return rows.map(toRun);
  }

  /** The run that holds the claim on `serviceName`, if any. */
  async claimOf(serviceName: string): Promise<RunRecord | undefined> {
    const claim = await this.db(CLAIMS)
      .where({ service_name: serviceName })
      .first();
    if (!claim) return undefined;
    const run = await this.get(claim.task_id);
    return run && CLAIMING_STATES.includes(run.state) ? run : undefined;
  }

  /**
   * Takes (or renews) the lease on a run: only the holder acts on it. A
   * lease that expired (its holder crashed) can be taken over.
   */
  async acquire(taskId: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const updated = await this.db(RUNS)
      .where({ task_id: taskId })
      .andWhere(q =>
        q
          .whereNull('lease_owner')
          .orWhere('lease_owner', owner)
          .orWhere('lease_expires_at', '<', now),
      )
      .update({
        lease_owner: owner,
        lease_expires_at: now + ttlMs,
        updated_at: this.db.fn.now(),
      });
    return Number(updated) === 1;
  }

  /** Gives the lease up (the run is finished for now). */
  async release(taskId: string, owner: string): Promise<void> {
    await this.db(RUNS)
      .where({ task_id: taskId, lease_owner: owner })
      .update({ lease_owner: null, lease_expires_at: null });
  }

  /**
   * Moves the run to `state`, but only from one of `from` (so a completed
   * run can never be moved to rolling back, whoever asks). Returns whether
   * it moved.
   */
  async transition(
    taskId: string,
    from: RunState[],
    state: RunState,
    error?: string,
  ): Promise<boolean> {
    const updated = await this.db(RUNS)
      .where({ task_id: taskId })
      .whereIn('state', from)
      .update({
        state,
        ...(error !== undefined ? { error } : {}),
        updated_at: this.db.fn.now(),
      });
    if (Number(updated) === 1 && state === 'rolled_back') {
      const run = await this.get(taskId);
      if (run) await this.releaseClaim(run.serviceName, taskId);
    }
    return Number(updated) === 1;
  }

  /** Frees the service name held by `taskId` (after a rollback or a decommission). */
  async releaseClaim(serviceName: string, taskId?: string): Promise<void> {
    const q = this.db(CLAIMS).where({ service_name: serviceName });
    if (taskId) q.andWhere({ task_id: taskId });
    await q.delete();
  }

  async steps(taskId: string): Promise<StepRecord[]> {
    const rows = await this.db(STEPS).where({ task_id: taskId });
    return rows.map(toStep);
  }

  /** Records a step's state (and its resource ids / error). */
  async setStep(
    taskId: string,
    step: string,
    state: StepState,
    details: { resource?: JsonValue; error?: string } = {},
  ): Promise<void> {
    const values = {
      state,
      resource: json(details.resource),
      error: details.error ?? null,
      updated_at: this.db.fn.now(),
    };
    await this.db(STEPS)
      .insert({ task_id: taskId, step, ...values })
      .onConflict(['task_id', 'step'])
      .merge(
        details.resource === undefined
          ? { state, error: values.error, updated_at: values.updated_at }
          : values,
      );
  }

  /** Marks that the run made progress (its holder is alive). */
  async touch(taskId: string): Promise<void> {
    await this.db(RUNS)
      .where({ task_id: taskId })
      .update({ updated_at: this.db.fn.now() });
  }

  /**
   * Runs that may need the janitor: not finished, and whose lease has
   * expired (nobody is acting on them).
   */
  async unattended(): Promise<RunRecord[]> {
    const now = this.now();
    const rows = await this.db(RUNS)
      .whereIn('state', ['running', 'rolling_back'])
      .andWhere(q =>
        q.whereNull('lease_expires_at').orWhere('lease_expires_at', '<', now),
      );
    return rows.map(toRun);
  }

  /** Runs in one of `states`, newest first. */
  async list(states: RunState[], limit = 100): Promise<RunRecord[]> {
    const rows = await this.db(RUNS)
      .whereIn('state', states)
      .orderBy('updated_at', 'desc')
      .limit(limit);
    return rows.map(toRun);
  }
}
