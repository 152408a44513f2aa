import { InputError, NotFoundError } from '@backstage/errors';
import { LoggerService } from '@backstage/backend-plugin-api';

/** One unit of work and how to take it back. */
export interface SagaStep<T> {
  /** Names the resource, e.g. `GitLab project apps/payments-api`. */
  name: string;
  /** Does (or ensures) the work; its result is handed to `undo`. */
  do: () => Promise<T>;
  /** Removes what `do` made. Must be idempotent; a missing resource is done. */
  undo: (result: T) => Promise<void>;
}

/** What a rollback did. */
export interface RollbackSummary {
  undone: string[];
  failed: { name: string; error: Error }[];
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
    // Not CustomErrorBase: it would repeat the original message as
    // "; caused by ...", which is already the first sentence here.
    super(parts.join(' '), { cause: original });
    this.summary = summary;
  }
}

type Compensation = { name: string; undo: () => Promise<void> };

/**
 * The completed steps of one scaffolder task, across all of its actions, so
 * that a failure in a later action also removes what earlier actions made.
 *
 * Only resources this task made are recorded (ensures refuse anything that
 * belongs to another task), so a rollback never removes someone else's work.
 */
export class SagaJournal {
  #done: Compensation[] = [];
  /** Cleanups inside a failed step that themselves failed: remove by hand. */
  #leftovers: { name: string; error: Error }[] = [];
  #rolledBack = false;

  /**
   * Records that a failed step could not clean up after itself. The
   * rollback summary lists it under "remove by hand"; the step's own error
   * stays the one the task fails with.
   */
  leftover(name: string, error: unknown): void {
    this.#leftovers.push({
      name,
      error: error instanceof Error ? error : new Error(String(error)),
    });
  }

  /**
   * A task's checkpoints outlive a rollback: retrying a rolled-back task
   * would hand back the ids of deleted resources, so it is refused.
   */
  assertNotRolledBack(): void {
    if (this.#rolledBack) {
      throw new InputError(
        'This run was rolled back after a failure, and retrying it would reuse the ids of resources that were deleted. Start a new Create instead.',
      );
    }
  }

  /** Runs a step and records its compensation once it has succeeded. */
  async step<T>(step: SagaStep<T>): Promise<T> {
    const result = await step.do();
    this.#done.push({ name: step.name, undo: () => step.undo(result) });
    return result;
  }

  /** Names of the completed steps, oldest first. */
  get completed(): string[] {
    return this.#done.map(c => c.name);
  }

  /**
   * Undoes every completed step in reverse order. An undo that fails is
   * reported, and the others still run: a partial cleanup beats none.
   */
  async rollback(logger: LoggerService): Promise<RollbackSummary> {
    this.#rolledBack = true;
    const summary: RollbackSummary = {
      undone: [],
      failed: [...this.#leftovers],
    };
    this.#leftovers = [];
    while (this.#done.length) {
      const { name, undo } = this.#done.pop()!;
      try {
        await undo();
        summary.undone.push(name);
        logger.info(`Rolled back ${name}`);
      } catch (error) {
        if (error instanceof NotFoundError) {
          summary.undone.push(name);
          logger.info(`Rolled back ${name} (already gone)`);
          continue;
        }
        const err = error instanceof Error ? error : new Error(String(error));
        summary.failed.push({ name, error: err });
        logger.error(`Failed to roll back ${name}: ${err.message}`);
      }
    }
    return summary;
  }

  /**
   * Runs `work`; if it throws, rolls back everything this task completed and
   * throws the original error with the summary attached.
   */
  async run<T>(logger: LoggerService, work: () => Promise<T>): Promise<T> {
    this.assertNotRolledBack();
    try {
      return await work();
    } catch (error) {
      logger.error(
        `Step failed: ${
          error instanceof Error ? error.message : String(error)
        }; rolling back ${this.#done.length} completed step(s)`,
      );
      const summary = await this.rollback(logger);
      throw new SagaRolledBackError(error, summary);
    }
  }
}

/**
 * Journals by scaffolder task id. In memory: after a crash the task is
 * replayed from its start, each action's `ctx.checkpoint` hands back the ids
 * it had recorded, and the steps re-enter the new journal — so the journal
 * is rebuilt from checkpoints rather than persisted twice.
 */
export class SagaJournals {
  #byTask = new Map<string, { journal: SagaJournal; touched: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = 24 * 60 * 60 * 1000,
  ) {}

  forTask(taskId: string): SagaJournal {
    this.#evictOld();
    let entry = this.#byTask.get(taskId);
    if (!entry) {
      entry = { journal: new SagaJournal(), touched: this.now() };
      this.#byTask.set(taskId, entry);
    }
    entry.touched = this.now();
    return entry.journal;
  }

  /** Forgets a task whose saga has completed. */
  complete(taskId: string): void {
    this.#byTask.delete(taskId);
  }

  #evictOld() {
    const cutoff = this.now() - this.maxAgeMs;
    for (const [id, entry] of this.#byTask) {
      if (entry.touched < cutoff) this.#byTask.delete(id);
    }
  }
}

/**
 * Like Promise.all, but waits for every branch to settle before throwing the
 * first failure, so a rollback never races a branch that is still creating.
 */
export async function settleAll<T extends readonly unknown[]>(
  branches: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(branches);
  const failure = results.find(r => r.status === 'rejected') as
    | PromiseRejectedResult
    | undefined;
  if (failure) throw failure.reason;
  return results.map(
    r => (r as PromiseFulfilledResult<unknown>).value,
  ) as unknown as T;
}
