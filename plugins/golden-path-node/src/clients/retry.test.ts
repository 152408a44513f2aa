import { InputError } from '@backstage/errors';
import fc from 'fast-check';
import { RetryError, RetryOptions, backoffDelay, withRetry } from './retry';

class Transient extends Error {}

/** A fake clock: sleeping advances it; `work` advances it per attempt. */
function fakeClock(work = 0) {
  const state = { t: 0, sleeps: [] as number[] };
  return {
    state,
    now: () => state.t,
    sleep: async (ms: number) => {
      state.sleeps.push(ms);
      state.t += ms;
    },
    /** Simulates an attempt that takes `work` ms. */
    tick: () => {
      state.t += work;
    },
  };
}

function options(overrides: Partial<RetryOptions> = {}): RetryOptions {
  return {
    maxAttempts: 5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    maxTotalMs: 60_000,
    isRetryable: err => err instanceof Transient,
    random: () => 0.5,
    ...overrides,
  };
}

describe('withRetry', () => {
  it('returns at once when the first attempt succeeds', async () => {
    const clock = fakeClock();
    const fn = jest.fn(async () => 'ok');
    await expect(
      withRetry(fn, options({ sleep: clock.sleep, now: clock.now })),
    ).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.state.sleeps).toEqual([]);
  });

  it('retries transient failures, then succeeds', async () => {
    const clock = fakeClock();
    const onRetry = jest.fn();
    const failures = [new Transient('one'), new Transient('two')];
    const fn = jest.fn(async (attempt: number) => {
      if (attempt <= failures.length) throw failures[attempt - 1];
      return `ok after ${attempt}`;
    });

    const result = await withRetry(
      fn,
      options({
        sleep: clock.sleep,
        now: clock.now,
        onRetry,
        random: () => 0.5,
      }),
    );

    expect(result).toBe('ok after 3');
    expect(fn.mock.calls.map(c => c[0])).toEqual([1, 2, 3]);
    // 0.5 * min(1000, 100 * 2^(n-1))
    expect(clock.state.sleeps).toEqual([50, 100]);
    expect(onRetry.mock.calls).toEqual([
      [failures[0], 1, 50],
      [failures[1], 2, 100],
    ]);
  });

  it('stops at maxAttempts and reports the last error as the cause', async () => {
    const clock = fakeClock();
    let n = 0;
    const fn = jest.fn(async () => {
      n += 1;
      throw new Transient(`failure ${n}`);
    });

    const err = await withRetry(
      fn,
      options({ maxAttempts: 4, sleep: clock.sleep, now: clock.now }),
    ).catch(e => e);

    expect(err).toBeInstanceOf(RetryError);
    expect(err.attempts).toBe(4);
    expect(err.cause).toBeInstanceOf(Transient);
    expect(err.cause.message).toBe('failure 4');
    expect(err.message).toMatch(/Gave up after 4 attempts/);
    expect(err.message).toMatch(/failure 4/);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(clock.state.sleeps).toHaveLength(3);
  });

  it('makes exactly one attempt when maxAttempts is 1', async () => {
    const clock = fakeClock();
    const fn = jest.fn(async () => {
      throw new Transient('once');
    });
    const err = await withRetry(
      fn,
      options({ maxAttempts: 1, sleep: clock.sleep }),
    ).catch(e => e);
    expect(err).toBeInstanceOf(RetryError);
    expect(err.attempts).toBe(1);
    expect(err.message).toMatch(/Gave up after 1 attempt in/);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.state.sleeps).toEqual([]);
  });

  it('stops at maxTotalMs without sleeping past the deadline', async () => {
    // Each attempt takes 400 ms; each delay is 999 ms.
    const clock = fakeClock(400);
    const fn = jest.fn(async () => {
      clock.tick();
      throw new Transient('slow');
    });

    const err = await withRetry(
      fn,
      options({
        maxAttempts: 100,
        baseDelayMs: 1000,
        maxDelayMs: 1000,
        maxTotalMs: 3000,
        random: () => 0.999,
        sleep: clock.sleep,
        now: clock.now,
      }),
    ).catch(e => e);

    // t=400 fail, sleep to 1399; t=1799 fail, sleep to 2798; t=3198 fail: 3198+999 > 3000.
    expect(err).toBeInstanceOf(RetryError);
    expect(err.attempts).toBe(3);
    expect(err.elapsedMs).toBe(3198);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(clock.state.sleeps).toEqual([999, 999]);
  });

  it('gives up instead of starting a delay that would end after the deadline', async () => {
    const clock = fakeClock();
    const fn = jest.fn(async () => {
      throw new Transient('x');
    });
    const err = await withRetry(
      fn,
      options({
        baseDelayMs: 500,
        maxDelayMs: 500,
        maxTotalMs: 400,
        random: () => 0.9,
        sleep: clock.sleep,
        now: clock.now,
      }),
    ).catch(e => e);
    expect(err).toBeInstanceOf(RetryError);
    expect(err.attempts).toBe(1);
    expect(clock.state.sleeps).toEqual([]);
  });

  it('rethrows a non-retryable error at once, as it is', async () => {
    const clock = fakeClock();
    const fatal = new Error('permission denied');
    const fn = jest.fn(async () => {
      throw fatal;
    });
    await expect(
      withRetry(fn, options({ sleep: clock.sleep, now: clock.now })),
    ).rejects.toBe(fatal);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.state.sleeps).toEqual([]);
  });

  it('rethrows a non-retryable error that follows transient ones, as it is', async () => {
    const clock = fakeClock();
    const fatal = new Error('bad request');
    const fn = jest.fn(async (attempt: number) => {
      if (attempt < 3) throw new Transient('flaky');
      throw fatal;
    });
    await expect(
      withRetry(fn, options({ sleep: clock.sleep, now: clock.now })),
    ).rejects.toBe(fatal);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(clock.state.sleeps).toHaveLength(2);
  });

  it('sleeps with a real timer by default', async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls += 1;
      if (calls === 1) throw new Transient('once');
      return calls;
    }, options({ baseDelayMs: 0, maxDelayMs: 0 }));
    expect(result).toBe(2);
  });

  it.each([
    [{ maxAttempts: 0 }, /maxAttempts/],
    [{ maxAttempts: 1.5 }, /maxAttempts/],
    [{ baseDelayMs: -1 }, /baseDelayMs/],
    [{ maxDelayMs: Number.NaN }, /maxDelayMs/],
    [{ maxTotalMs: -5 }, /maxTotalMs/],
  ])('refuses invalid options %o', async (bad, message) => {
    const fn = jest.fn(async () => 'never');
    const err = await withRetry(fn, options(bad)).catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(message);
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps every delay within the full-jitter bounds (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          {
            minLength: 10,
            maxLength: 10,
          },
        ),
        async (maxAttempts, baseDelayMs, maxDelayMs, randoms) => {
          const clock = fakeClock();
          let r = 0;
          const delays: Array<[number, number]> = [];
          await withRetry(
            async () => {
              throw new Transient('always');
            },
            {
              maxAttempts,
              baseDelayMs,
              maxDelayMs,
              maxTotalMs: Number.MAX_SAFE_INTEGER,
              isRetryable: () => true,
              random: () => randoms[r++ % randoms.length],
              sleep: clock.sleep,
              now: clock.now,
              onRetry: (_err, attempt, delayMs) =>
                delays.push([attempt, delayMs]),
            },
          ).catch(e => {
            if (!(e instanceof RetryError)) throw e;
          });

          expect(delays).toHaveLength(maxAttempts - 1);
          expect(clock.state.sleeps).toEqual(delays.map(d => d[1]));
          for (const [attempt, delayMs] of delays) {
            const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
            expect(delayMs).toBeGreaterThanOrEqual(0);
            expect(delayMs).toBeLessThanOrEqual(cap);
            expect(delayMs).toBe(randoms[(attempt - 1) % randoms.length] * cap);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never exceeds the attempts or the time budget (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 0, max: 3_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (
          maxAttempts,
          baseDelayMs,
          maxDelayMs,
          maxTotalMs,
          work,
          random,
        ) => {
          const clock = fakeClock(work);
          let calls = 0;
          const err = await withRetry(
            async () => {
              calls += 1;
              clock.tick();
              throw new Transient('always');
            },
            {
              maxAttempts,
              baseDelayMs,
              maxDelayMs,
              maxTotalMs,
              isRetryable: () => true,
              random: () => random,
              sleep: clock.sleep,
              now: clock.now,
            },
          ).catch(e => e);

          expect(err).toBeInstanceOf(RetryError);
          expect(err.attempts).toBe(calls);
          expect(calls).toBeLessThanOrEqual(maxAttempts);
          // Every sleep ends by the deadline.
          let t = 0;
          for (const ms of clock.state.sleeps) {
            t += work + ms;
            expect(t).toBeLessThanOrEqual(maxTotalMs);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('backoffDelay', () => {
  it('doubles the cap per attempt up to maxDelayMs', () => {
    const policy = { baseDelayMs: 500, maxDelayMs: 10_000 };
    const caps = [1, 2, 3, 4, 5, 6, 7, 30].map(a =>
      backoffDelay(a, policy, () => 1),
    );
    expect(caps).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('is zero when random() is zero', () => {
    expect(
      backoffDelay(3, { baseDelayMs: 500, maxDelayMs: 10_000 }, () => 0),
    ).toBe(0);
  });
});
