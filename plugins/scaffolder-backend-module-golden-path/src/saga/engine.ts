import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotFoundError,
  isError,
} from '@backstage/errors';
import { JsonValue } from '@backstage/types';
import { RunRecord, RunState, RunStore, StepRecord } from './RunStore';
import { retryTransient } from './transient';

/**
 * The small saga engine: steps declared as data, run as a DAG (every step
 * whose `after` steps are done starts at once), journaled durably before and
 * after each effect, and undone in reverse dependency order. Each undo
 * re-reads the resource and removes it only if it carries the run's marker.
 */

/** What a step gets when it runs or is undone. */
export interface StepContext<P> {
  /** The run: its task id and marker. */
  run: RunRecord;
  /** The plan the run executes. */
  plan: P;
  logger: LoggerService;
}

/**
 * One unit of work. A *resource* step has `find`/`isOurs`/`undo`: the engine
 * re-reads the resource before acting on it. An *effect* step (a push, a
 * variable) has no `find`: it must be idempotent and is removed with the
 * resource it belongs to.
 */
export interface SagaStep<P, F = any> {
  /** Stable id within the saga, e.g. `gitlab.app-project`. */
  id: string;
  /** The resource, for people: `GitLab project apps/payments-api`. */
  title: string;
  /** Steps that must be done first. */
  after?: string[];
  /** Reads the resource by its natural key; undefined when it does not exist. */
  find?: (ctx: StepContext<P>) => Promise<F | undefined>;
  /** True when `found` carries this run's marker. */
  isOurs?: (found: F, ctx: StepContext<P>) => boolean;
  /**
   * Makes the resource (or completes it, when `found` is this run's own from
   * an interrupted attempt) and returns the ids to journal. Never secrets.
   * `results` holds the journaled results of the steps in `after`.
   */
  ensure: (
    ctx: StepContext<P>,
    results: Record<string, JsonValue>,
    found?: F,
  ) => Promise<JsonValue>;
  /** Removes it; `found` is what `find` returned (ours). A 404 counts as done. */
  undo?: (ctx: StepContext<P>, found: F | undefined, record?: JsonValue) => Promise<void>;
}

/** What a rollback did. */
export interface RollbackSummary {
  undone: string[];
  failed: { name: string; error: Error }[];
  /** Found but not this run's: left alone. */
  left: string[];
}

/**
 * The original failure, with what was rolled back attached. The message
 * starts with the original message so the task log shows the cause first.
 */
export class SagaRolledBackError extends Error {
  name = 'SagaRolledBackError';
  readonly summary: RollbackSummary;

  constructor(original: unknown, summary: RollbackSummary) {
    const originalMessage =
      original instanceof Error ? original.message : String(original);
    const parts = [originalMessage];
    parts.push(
      summary.undone.length
        ? `Rolled back: ${summary.undone.join('; ')}.`
        : 'Nothing had been created, so nothing was rolled back.',
    );
    if (summary.failed.length) {
      parts.push(
        `Could NOT roll back (remove by hand): ${summary.failed
          .map(f => `${f.name} (${f.error.message})`)
          .join('; ')}.`,
      );
    }
    if (summary.left.length) {
      parts.push(
        `Left alone (not made by this run): ${summary.left.join('; ')}.`,
      );
    }
    // Not CustomErrorBase: it would repeat the original message as
    // "; caused by ...", which is already the first sentence here.
    super(parts.join(' '), { cause: original });
    this.summary = summary;
  }
}

/** The run was cancelled (the task's abort signal fired). */
export class RunCancelledError extends Error {
  name = 'RunCancelledError';
  constructor() {
    super('The task was cancelled');
  }
}


const toError = (e: unknown) => (isError(e) ? e : new Error(String(e)));

/** The steps in dependency order (every step after the steps it needs). */
export function topologicalOrder<P>(steps: SagaStep<P>[]): SagaStep<P>[] {
  const byId = new Map(steps.map(s => [s.id, s]));
  const done = new Set<string>();
  const order: SagaStep<P>[] = [];
  const visit = (s: SagaStep<P>, path: string[]) => {
    if (done.has(s.id)) return;
    if (path.includes(s.id)) {
      throw new Error(`Saga steps form a cycle: ${[...path, s.id].join(' -> ')}`);
    }
    for (const dep of s.after ?? []) {
      const d = byId.get(dep);
      if (d) visit(d, [...path, s.id]);
    }
    done.add(s.id);
    order.push(s);
  };
  steps.forEach(s => visit(s, []));
  return order;
}

export interface SagaOptions {
  store: RunStore;
  logger: LoggerService;
  /** Identifies this process for the lease, e.g. `host:pid:random`. */
  owner: string;
  /** How long a lease lasts without renewal. */
  leaseMs: number;
  /** How long to wait for a lease held by someone else before giving up. */
  waitForLeaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Attempts of a step (or an undo) whose failure is transient (a dropped
   * connection, 429, 5xx): each new attempt re-reads the resource first, so
   * one the failed attempt did make is completed, not made twice. Default 4.
   */
  transientAttempts?: number;
}

/**
 * Runs and undoes the steps of one run. One instance per process; every
 * method re-reads the journal, so any replica can pick up any run.
 */
export class SagaEngine {
  readonly #heartbeats = new Set<ReturnType<typeof setInterval>>();

  constructor(private readonly options: SagaOptions) {}

  /** Stops every lease renewal (shutdown; in tests, a simulated crash). */
  dispose(): void {
    this.#heartbeats.forEach(timer => clearInterval(timer));
    this.#heartbeats.clear();
  }

  /** {@link retryTransient} with this engine's attempts, sleep and the run's logger. */
  private retry<T>(ctx: StepContext<unknown>, what: string, attempt: () => Promise<T>) {
    return retryTransient(
      {
        logger: ctx.logger,
        what,
        attempts: this.options.transientAttempts,
        sleep: ms => this.sleep(ms),
      },
      attempt,
    );
  }

  private sleep(ms: number) {
    return (this.options.sleep ?? (t => new Promise(r => setTimeout(r, t))))(ms);
  }

  /**
   * Takes the run's lease, waiting while another process holds it (for
   * example a replica that is rolling it back), and keeps it renewed until
   * `work` settles.
   */
  async withLease<T>(taskId: string, work: () => Promise<T>): Promise<T> {
    const { store, owner, leaseMs } = this.options;
    const deadline = Date.now() + (this.options.waitForLeaseMs ?? leaseMs * 2);
    while (!(await store.acquire(taskId, owner, leaseMs))) {
      if (Date.now() > deadline) {
        throw new Error(
          `Run ${taskId} is being worked on by another process; try again later`,
        );
      }
      await this.sleep(Math.min(1000, leaseMs / 4));
    }
    const timer = setInterval(() => {
      store.acquire(taskId, owner, leaseMs).catch(error =>
        this.options.logger.warn(
          `Could not renew the lease on run ${taskId}: ${toError(error).message}`,
        ),
      );
    }, Math.max(50, Math.floor(leaseMs / 3)));
    this.#heartbeats.add(timer);
    try {
      return await work();
    } finally {
      clearInterval(timer);
      this.#heartbeats.delete(timer);
      await store.release(taskId, owner).catch(() => {});
    }
  }

  /**
   * Runs `steps` for the run of `taskId` (which must be `running`): skips
   * what the journal says is done, starts every step whose dependencies are
   * done at once, and on the first failure (or cancellation) waits for the
   * steps in flight, undoes everything the run made (`allSteps`, default
   * `steps`) and throws {@link SagaRolledBackError}. Returns every step's
   * journaled result.
   */
  async execute<P>(opts: {
    taskId: string;
    plan: P;
    steps: SagaStep<P>[];
    allSteps?: SagaStep<P>[];
    logger: LoggerService;
    signal?: AbortSignal;
  }): Promise<Record<string, JsonValue>> {
    const { store } = this.options;
    return this.withLease(opts.taskId, async () => {
      const run = await this.requireRun(opts.taskId);
      if (run.state === 'rolling_back') {
        // Interrupted while rolling back: finish that, never create again.
        const summary = await this.undoAll(run, opts);
        throw new SagaRolledBackError(
          new Error(run.error ?? 'An earlier attempt of this run failed'),
          summary,
        );
      }
      this.assertRunnable(run);
      const ctx: StepContext<P> = { run, plan: opts.plan, logger: opts.logger };
      const journal = new Map((await store.steps(run.taskId)).map(s => [s.step, s]));
      const results: Record<string, JsonValue> = {};
      for (const [id, rec] of journal) {
        if (rec.state === 'done') results[id] = rec.resource ?? null;
      }
      try {
        await this.runDag(ctx, opts.steps, journal, results, opts.signal);
      } catch (error) {
        opts.logger.error(
          `Step failed: ${toError(error).message}; rolling back what this run made`,
        );
        await store.transition(run.taskId, ['running'], 'rolling_back', toError(error).message);
        const summary = await this.undoAll({ ...run, state: 'rolling_back' }, opts);
        throw new SagaRolledBackError(error, summary);
      }
      await store.touch(run.taskId);
      return results;
    });
  }

  private async requireRun(taskId: string): Promise<RunRecord> {
    const run = await this.options.store.get(taskId);
    if (!run) throw new Error(`No golden-path run for task ${taskId}`);
    return run;
  }

  /** Refuses to create anything for a run that has ended. */
  assertRunnable(run: RunRecord): void {
    const refusals: Partial<Record<RunState, string>> = {
      rolled_back:
        'This run was rolled back after a failure, and retrying it would reuse the ids of resources that were deleted. Start a new Create instead.',
      needs_attention:
        'This run failed and could not clean up everything it made; an operator has to remove what is listed in its log. Start a new Create instead.',
    };
    const refusal = refusals[run.state];
    if (refusal) throw new InputError(refusal);
  }

  private async runDag<P>(
    ctx: StepContext<P>,
    steps: SagaStep<P>[],
    journal: Map<string, StepRecord>,
    results: Record<string, JsonValue>,
    signal?: AbortSignal,
  ): Promise<void> {
    const ids = new Set(steps.map(s => s.id));
    const pending = new Map(steps.map(s => [s.id, s]));
    const running = new Map<string, Promise<void>>();
    const state: { failure?: unknown } = {};
    const start = (step: SagaStep<P>) =>
      running.set(
        step.id,
        this.runStep(ctx, step, results).then(
          () => {
            running.delete(step.id);
          },
          error => {
            running.delete(step.id);
            if (state.failure === undefined) state.failure = error;
          },
        ),
      );
    const ready = (s: SagaStep<P>) =>
      (s.after ?? []).every(dep => !ids.has(dep) || dep in results);

    for (;;) {
      if (state.failure === undefined && signal?.aborted) {
        state.failure = new RunCancelledError();
        ctx.logger.warn(
          `The task was cancelled: waiting for ${running.size} step(s) in flight, then rolling back everything this run made`,
        );
      }
      if (state.failure === undefined) {
        for (const step of [...pending.values()]) {
          if (!ready(step)) continue;
          pending.delete(step.id);
          const done = journal.get(step.id);
          if (done?.state === 'done') continue;
          start(step);
        }
      }
      if (running.size === 0) break;
      // Wake up when any step settles, or when the task is cancelled.
      await Promise.race([
        ...running.values(),
        ...(signal && !signal.aborted
          ? [new Promise<void>(r => signal.addEventListener('abort', () => r(), { once: true }))]
          : []),
      ]);
    }
    if (state.failure !== undefined) throw state.failure;
    if (pending.size) {
      throw new Error(
        `Saga steps could not start: ${[...pending.keys()].join(', ')} (missing dependencies)`,
      );
    }
  }

  private async runStep<P>(
    ctx: StepContext<P>,
    step: SagaStep<P>,
    results: Record<string, JsonValue>,
  ): Promise<void> {
    const { store } = this.options;
    await store.setStep(ctx.run.taskId, step.id, 'started');
    const deps: Record<string, JsonValue> = {};
    for (const dep of step.after ?? []) {
      if (dep in results) deps[dep] = results[dep];
    }
    let found: unknown;
    const result = await this.retry(ctx, step.title, async () => {
      // Re-read on every attempt: a failed attempt may have made it.
      found = undefined;
      if (step.find) {
        found = await step.find(ctx);
        if (found !== undefined && !step.isOurs?.(found, ctx)) {
          throw takenError(ctx, step.title);
        }
      }
      return step.ensure(ctx, deps, found);
    });
    await store.setStep(ctx.run.taskId, step.id, 'done', { resource: result ?? null });
    results[step.id] = result ?? null;
    if (step.find) {
      ctx.logger.info(
        found === undefined
          ? `Created ${step.title}`
          : `${step.title} was already made by this run; completed it`,
      );
    }
  }

  /**
   * Undoes every step of the run that started, in reverse dependency order,
   * and moves the run to `rolled_back` (or `needs_attention` when an undo
   * failed). Each undo re-reads its resource first: gone counts as undone,
   * not ours is left alone.
   */
  async undoAll<P>(
    run: RunRecord,
    opts: {
      plan: P;
      steps: SagaStep<P>[];
      allSteps?: SagaStep<P>[];
      logger: LoggerService;
    },
  ): Promise<RollbackSummary> {
    const { store } = this.options;
    if (run.state === 'completed') {
      throw new InputError('A completed run is never rolled back');
    }
    const all = opts.allSteps ?? opts.steps;
    const journal = new Map((await store.steps(run.taskId)).map(s => [s.step, s]));
    const ctx: StepContext<P> = { run, plan: opts.plan, logger: opts.logger };
    const summary: RollbackSummary = { undone: [], failed: [], left: [] };
    for (const step of topologicalOrder(all).reverse()) {
      const rec = journal.get(step.id);
      if (!rec || rec.state === 'undone' || rec.state === 'left') continue;
      const outcome = await this.undoStep(ctx, step, rec);
      if (outcome.state === 'undone' && outcome.acted) summary.undone.push(step.title);
      if (outcome.state === 'left') summary.left.push(step.title);
      if (outcome.state === 'undo_failed') {
        summary.failed.push({ name: step.title, error: outcome.error! });
      }
    }
    const ended: RunState = summary.failed.length ? 'needs_attention' : 'rolled_back';
    await store.transition(run.taskId, ['running', 'rolling_back'], ended);
    return summary;
  }

  private async undoStep<P>(
    ctx: StepContext<P>,
    step: SagaStep<P>,
    rec: StepRecord,
  ): Promise<{ state: 'undone' | 'left' | 'undo_failed'; acted: boolean; error?: Error }> {
    const { store } = this.options;
    const { taskId } = ctx.run;
    try {
      if (!step.undo) {
        // Removed with the resource it belongs to.
        await store.setStep(taskId, step.id, 'undone');
        return { state: 'undone', acted: false };
      }
      const undo = step.undo;
      const outcome = await this.retry(ctx, `Rolling back ${step.title}`, async () => {
        let found: unknown;
        if (step.find) {
          found = await step.find(ctx);
          if (found === undefined) return 'gone' as const;
          if (!step.isOurs?.(found, ctx)) return 'not ours' as const;
        }
        await undo(ctx, found, rec.resource);
        return 'undone' as const;
      });
      if (outcome === 'gone') {
        await store.setStep(taskId, step.id, 'undone');
        ctx.logger.info(`Rolled back ${step.title} (already gone)`);
        return { state: 'undone', acted: rec.state === 'done' };
      }
      if (outcome === 'not ours') {
        await store.setStep(taskId, step.id, 'left');
        ctx.logger.warn(`Left ${step.title} alone: it was not made by this run`);
        return { state: 'left', acted: false };
      }
      await store.setStep(taskId, step.id, 'undone');
      ctx.logger.info(`Rolled back ${step.title}`);
      return { state: 'undone', acted: true };
    } catch (error) {
      if (error instanceof NotFoundError) {
        await store.setStep(taskId, step.id, 'undone');
        ctx.logger.info(`Rolled back ${step.title} (already gone)`);
        return { state: 'undone', acted: true };
      }
      const err = toError(error);
      await store.setStep(taskId, step.id, 'undo_failed', { error: err.message });
      ctx.logger.error(`Failed to roll back ${step.title}: ${err.message}`);
      return { state: 'undo_failed', acted: false, error: err };
    }
  }
}

/** The one duplicate-name error, naming the place. */
function takenError(ctx: StepContext<any>, title: string): Error {
  return new ConflictError(
    `Service name "${ctx.run.serviceName}" is already taken: ${title}. Choose another name.`,
  );
}
