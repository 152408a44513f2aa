import { mockServices } from '@backstage/backend-test-utils';
import { NotFoundError } from '@backstage/errors';
import { journalDatabase } from '../__testUtils__/goldenPathRun';
import {
  SagaEngine,
  SagaRolledBackError,
  SagaStep,
  topologicalOrder,
} from './engine';
import { RunStore } from './RunStore';

const logger = mockServices.logger.mock();

/** A toy world: resources by name, each with the marker of the run that made it. */
function world() {
  const resources = new Map<string, string>();
  const events: string[] = [];
  const step = (
    id: string,
    opts: {
      after?: string[];
      failEnsure?: boolean;
      failUndo?: Error;
      delayMs?: number;
    } = {},
  ): SagaStep<object> => ({
    id,
    title: `resource ${id}`,
    after: opts.after,
    find: async () => resources.get(id),
    isOurs: (marker, ctx) => marker === ctx.run.marker,
    async ensure(ctx, deps) {
      events.push(`start ${id}`);
      if (opts.delayMs) await new Promise(r => setTimeout(r, opts.delayMs));
      if (opts.failEnsure) throw new Error(`${id} failed`);
      resources.set(id, ctx.run.marker);
      events.push(`made ${id}`);
      return { id, deps: Object.keys(deps) };
    },
    async undo() {
      if (opts.failUndo) throw opts.failUndo;
      resources.delete(id);
      events.push(`undo ${id}`);
    },
  });
  return { resources, events, step };
}

async function engineFor(taskId: string, marker = `m-${taskId}`) {
  const store = await RunStore.create(journalDatabase());
  await store.start({
    taskId,
    serviceName: 'svc',
    kind: 'create',
    marker,
    plan: {},
  });
  const engine = new SagaEngine({ store, logger, owner: 'p1', leaseMs: 5000 });
  return { store, engine };
}

describe('SagaEngine', () => {
  it('undoes completed steps in reverse dependency order', async () => {
    const { events, step } = world();
    const { engine } = await engineFor('t');
    const steps = [
      step('a'),
      step('b', { after: ['a'] }),
      step('c', { after: ['b'], failEnsure: true }),
    ];
    await expect(
      engine.execute({ taskId: 't', plan: {}, steps, logger }),
    ).rejects.toThrow(SagaRolledBackError);
    expect(events).toEqual([
      'start a',
      'made a',
      'start b',
      'made b',
      'start c',
      'undo b',
      'undo a',
    ]);
  });

  it('rethrows the original error first, with what was undone', async () => {
    const { step } = world();
    const { engine } = await engineFor('t');
    const error = await engine
      .execute({
        taskId: 't',
        plan: {},
        steps: [step('a'), step('b', { after: ['a'], failEnsure: true })],
        logger,
      })
      .catch(e => e);
    expect(error.message).toBe('b failed Rolled back: resource a.');
    expect(error.cause.message).toBe('b failed');
    expect(error.summary.undone).toEqual(['resource a']);
  });

  it('keeps undoing after an undo fails, reports it for removal by hand, and marks the run', async () => {
    const { events, step } = world();
    const { engine, store } = await engineFor('t');
    const error = await engine
      .execute({
        taskId: 't',
        plan: {},
        steps: [
          step('a'),
          step('b', { after: ['a'], failUndo: new Error('denied') }),
          step('c', { after: ['b'], failEnsure: true }),
        ],
        logger,
      })
      .catch(e => e);
    expect(events).toContain('undo a');
    expect(error.message).toContain(
      'Could NOT roll back (remove by hand): resource b (denied).',
    );
    expect((await store.get('t'))!.state).toBe('needs_attention');
    expect((await store.steps('t')).find(s => s.step === 'b')).toMatchObject({
      state: 'undo_failed',
      error: 'denied',
    });
  });

  it('counts a NotFoundError from an undo as done', async () => {
    const { step } = world();
    const { engine, store } = await engineFor('t');
    const error = await engine
      .execute({
        taskId: 't',
        plan: {},
        steps: [
          step('a', { failUndo: new NotFoundError('gone') }),
          step('b', { after: ['a'], failEnsure: true }),
        ],
        logger,
      })
      .catch(e => e);
    expect(error.summary).toEqual({ undone: ['resource a'], failed: [], left: [] });
    expect((await store.get('t'))!.state).toBe('rolled_back');
  });

  it('says when nothing had been created', async () => {
    const { step } = world();
    const { engine } = await engineFor('t');
    await expect(
      engine.execute({ taskId: 't', plan: {}, steps: [step('a', { failEnsure: true })], logger }),
    ).rejects.toThrow('a failed Nothing had been created, so nothing was rolled back.');
  });

  it('starts independent steps at once and a step only after its dependencies', async () => {
    const { events, step } = world();
    const { engine } = await engineFor('t');
    const results = await engine.execute({
      taskId: 't',
      plan: {},
      steps: [
        step('a', { delayMs: 30 }),
        step('b', { delayMs: 30 }),
        step('c', { after: ['a', 'b'] }),
      ],
      logger,
    });
    expect(events.slice(0, 2).sort()).toEqual(['start a', 'start b']);
    expect(events.indexOf('start c')).toBeGreaterThan(events.indexOf('made a'));
    expect(events.indexOf('start c')).toBeGreaterThan(events.indexOf('made b'));
    expect(results.c).toEqual({ id: 'c', deps: ['a', 'b'] });
  });

  it('waits for steps in flight before rolling back, so nothing is made after the rollback', async () => {
    const { events, step, resources } = world();
    const { engine } = await engineFor('t');
    await expect(
      engine.execute({
        taskId: 't',
        plan: {},
        steps: [step('slow', { delayMs: 50 }), step('fails', { failEnsure: true })],
        logger,
      }),
    ).rejects.toThrow(SagaRolledBackError);
    expect(events.indexOf('undo slow')).toBeGreaterThan(events.indexOf('made slow'));
    expect([...resources.keys()]).toEqual([]);
  });

  it('leaves alone a resource it finds without its marker, and says so', async () => {
    const { step, resources } = world();
    const { engine } = await engineFor('t');
    // Someone else made "b" while this run's attempt at it was failing.
    const b = step('b', { failEnsure: true });
    const failing = { ...b, ensure: async () => { resources.set('b', 'another-run'); throw new Error('b lost a race'); } };
    const error = await engine
      .execute({ taskId: 't', plan: {}, steps: [step('a'), failing], logger })
      .catch(e => e);
    expect(resources.get('b')).toBe('another-run');
    expect(error.message).toContain('Left alone (not made by this run): resource b.');
    expect(error.summary.undone).toEqual(['resource a']);
  });

  it('refuses, as taken, a resource that exists without its marker', async () => {
    const { step, resources } = world();
    resources.set('a', 'someone-else');
    const { engine } = await engineFor('t');
    await expect(
      engine.execute({ taskId: 't', plan: {}, steps: [step('a')], logger }),
    ).rejects.toThrow('Service name "svc" is already taken: resource a');
    expect(resources.get('a')).toBe('someone-else');
  });

  it('skips what the journal says is done when the run is replayed', async () => {
    const { events, step } = world();
    const { engine } = await engineFor('t');
    await engine.execute({ taskId: 't', plan: {}, steps: [step('a')], logger });
    events.length = 0;
    const results = await engine.execute({
      taskId: 't',
      plan: {},
      steps: [step('a'), step('b', { after: ['a'] })],
      logger,
    });
    expect(events).toEqual(['start b', 'made b']);
    expect(results.b).toEqual({ id: 'b', deps: ['a'] });
  });

  it('stops starting steps and rolls back when the task is cancelled', async () => {
    const { events, step } = world();
    const { engine } = await engineFor('t');
    const abort = new AbortController();
    const first = step('a', { delayMs: 20 });
    const error = await engine
      .execute({
        taskId: 't',
        plan: {},
        steps: [
          { ...first, ensure: async (...args) => { abort.abort(); return first.ensure(...args); } },
          step('b', { after: ['a'] }),
        ],
        logger,
        signal: abort.signal,
      })
      .catch(e => e);
    expect(error.message).toMatch(/^The task was cancelled Rolled back: resource a\./);
    expect(events).not.toContain('start b');
  });

  it('refuses to undo a completed run, whoever asks', async () => {
    const { step } = world();
    const { engine, store } = await engineFor('t');
    await engine.execute({ taskId: 't', plan: {}, steps: [step('a')], logger });
    await store.transition('t', ['running'], 'completed');
    await expect(
      engine.undoAll((await store.get('t'))!, { plan: {}, steps: [step('a')], logger }),
    ).rejects.toThrow('A completed run is never rolled back');
  });

  describe('transient failures', () => {
    /** A step whose first `failures` ensures make the resource, then lose the answer. */
    function flaky(failures: number, error: () => Error) {
      const made: string[] = [];
      let attempts = 0;
      let resource: string | undefined;
      const step: SagaStep<object> = {
        id: 'r',
        title: 'resource r',
        find: async () => resource,
        isOurs: (marker, ctx) => marker === ctx.run.marker,
        async ensure(ctx, _deps, found) {
          attempts++;
          if (!found) {
            resource = ctx.run.marker;
            made.push(`made on attempt ${attempts}`);
          }
          if (attempts <= failures) throw error();
          return { attempts };
        },
        async undo() {
          resource = undefined;
        },
      };
      return { step, made, attempts: () => attempts };
    }
    const socketError = () =>
      new Error('GitLab: cannot create project: request failed', {
        cause: Object.assign(new TypeError('fetch failed'), {
          cause: { code: 'UND_ERR_SOCKET' },
        }),
      });

    it('tries a step again after a dropped connection, completing what the failed attempt made', async () => {
      const { step, made, attempts } = flaky(2, socketError);
      const { store } = await engineFor('tr1');
      const engine = new SagaEngine({ store, logger, owner: 'p1', leaseMs: 5000, sleep: async () => {} });
      const results = await engine.execute({ taskId: 'tr1', plan: {}, steps: [step], logger });
      expect(results.r).toEqual({ attempts: 3 });
      expect(attempts()).toBe(3);
      expect(made).toEqual(['made on attempt 1']);
    });

    it('gives up after the last attempt and rolls back', async () => {
      const { step } = flaky(10, socketError);
      const { store } = await engineFor('tr2');
      const engine = new SagaEngine({ store, logger, owner: 'p1', leaseMs: 5000, sleep: async () => {}, transientAttempts: 3 });
      await expect(engine.execute({ taskId: 'tr2', plan: {}, steps: [step], logger })).rejects.toThrow(
        /request failed[\s\S]*rolled back/i,
      );
      expect((await store.get('tr2'))?.state).toBe('rolled_back');
    });

    it.each([
      ['permission denied', () => Object.assign(new Error('GitLab: permission denied (HTTP 403)'), { name: 'NotAllowedError' })],
      ['invalid input', () => Object.assign(new Error('rejected as invalid'), { name: 'InputError' })],
      ['an unknown failure', () => new Error('boom')],
    ])('does not try again after %s', async (_what, error) => {
      const { step, attempts } = flaky(1, error);
      const { store } = await engineFor(`tr-${_what}`);
      const engine = new SagaEngine({ store, logger, owner: 'p1', leaseMs: 5000, sleep: async () => {} });
      await expect(engine.execute({ taskId: `tr-${_what}`, plan: {}, steps: [step], logger })).rejects.toThrow(
        SagaRolledBackError,
      );
      expect(attempts()).toBe(1);
    });
  });

  it('orders steps after their dependencies and refuses a cycle', () => {
    const { step } = world();
    expect(
      topologicalOrder([step('c', { after: ['b'] }), step('b', { after: ['a'] }), step('a')]).map(s => s.id),
    ).toEqual(['a', 'b', 'c']);
    expect(() =>
      topologicalOrder([step('a', { after: ['b'] }), step('b', { after: ['a'] })]),
    ).toThrow('cycle');
  });
});
