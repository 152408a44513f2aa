/**
 * Retrying calls to external systems: exponential backoff with full jitter,
 * bounded both by a number of attempts and by the total time spent. The
 * clock, the randomness and the sleep are injectable, so tests run instantly
 * and deterministically.
 */
import { CustomErrorBase, InputError } from '@backstage/errors';

/** The numbers of a retry policy (what config may set). */
export interface RetryPolicy {
  /** Attempts in all, the first one included (at least 1). */
  maxAttempts: number;
  /** Upper bound of the first delay; it doubles with every attempt. */
  baseDelayMs: number;
  /** Upper bound of any single delay. */
  maxDelayMs: number;
  /**
   * Time budget from the first attempt on. No delay is started that would
   * end after it: the call gives up instead.
   */
  maxTotalMs: number;
}

/** Options of {@link withRetry}. */
export interface RetryOptions extends RetryPolicy {
  /** Whether a failure is transient and worth another attempt. */
  isRetryable: (err: unknown) => boolean;
  /** Waits `ms` milliseconds. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1). Default: Math.random. */
  random?: () => number;
  /** The current time in milliseconds. Default: Date.now. */
  now?: () => number;
  /** Called before each wait, with the failure, the failed attempt (1-based) and the delay. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Thrown by {@link withRetry} when it gives up on a transient failure: the
 * attempts or the time budget ran out. `cause` is the last failure.
 * A failure that is not retryable is rethrown as it is instead.
 */
export class RetryError extends CustomErrorBase {
  /** Attempts made, the first one included. */
  readonly attempts: number;
  /** Milliseconds from the first attempt to giving up. */
  readonly elapsedMs: number;

  constructor(lastError: unknown, attempts: number, elapsedMs: number) {
    super(
      `Gave up after ${attempts} attempt${
        attempts === 1 ? '' : 's'
      } in ${Math.round(elapsedMs)} ms`,
      lastError,
    );
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

/**
 * The delay after failed attempt `attempt` (1-based): full jitter,
 * `random() * min(maxDelayMs, baseDelayMs * 2^(attempt-1))`.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const cap = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** (attempt - 1),
  );
  return random() * cap;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function checkPolicy(opts: RetryPolicy): void {
  const problems: string[] = [];
  if (!Number.isInteger(opts.maxAttempts) || opts.maxAttempts < 1) {
    problems.push(
      `maxAttempts must be an integer of at least 1, got ${opts.maxAttempts}`,
    );
  }
  for (const key of ['baseDelayMs', 'maxDelayMs', 'maxTotalMs'] as const) {
    if (!Number.isFinite(opts[key]) || opts[key] < 0) {
      problems.push(`${key} must be a number of at least 0, got ${opts[key]}`);
    }
  }
  if (problems.length > 0) {
    throw new InputError(`Invalid retry options: ${problems.join('; ')}`);
  }
}

/**
 * Calls `fn` until it succeeds, it fails with an error that is not
 * retryable (rethrown as it is), or the attempts or the time budget run out
 * ({@link RetryError} with the last failure as cause).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  checkPolicy(opts);
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const start = now();
  const deadline = start + opts.maxTotalMs;

  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!opts.isRetryable(err)) throw err;
      if (attempt >= opts.maxAttempts) {
        throw new RetryError(err, attempt, now() - start);
      }
      const delayMs = backoffDelay(attempt, opts, random);
      if (now() + delayMs > deadline) {
        throw new RetryError(err, attempt, now() - start);
      }
      opts.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
