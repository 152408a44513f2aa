import { mockServices } from '@backstage/backend-test-utils';
import { NotFoundError } from '@backstage/errors';
import { SagaJournal, SagaJournals, SagaRolledBackError } from './Saga';

const logger = mockServices.logger.mock();

function tracker() {
  const events: string[] = [];
  const step = (
    name: string,
    opts: { failDo?: boolean; failUndo?: Error } = {},
  ) => ({
    name,
    do: async () => {
      if (opts.failDo) throw new Error(`${name} failed`);
      events.push(`do ${name}`);
      return name.toUpperCase();
    },
    undo: async (result: string) => {
      if (opts.failUndo) throw opts.failUndo;
      events.push(`undo ${name} ${result}`);
    },
  });
  return { events, step };
}

describe('SagaJournal', () => {
  it('undoes completed steps in reverse order, passing each its result', async () => {
    const { events, step } = tracker();
    const journal = new SagaJournal();
    await expect(
      journal.run(logger, async () => {
        await journal.step(step('a'));
        await journal.step(step('b'));
        await journal.step(step('c', { failDo: true }));
      }),
    ).rejects.toThrow(SagaRolledBackError);
    expect(events).toEqual(['do a', 'do b', 'undo b B', 'undo a A']);
  });

  it('rethrows the original error first, with what was undone', async () => {
    const { step } = tracker();
    const journal = new SagaJournal();
    const error = await journal
      .run(logger, async () => {
        await journal.step(step('GitLab project apps/x'));
        await journal.step(step('ECR repository x', { failDo: true }));
      })
      .catch(e => e);
    expect(error.message).toBe(
      'ECR repository x failed Rolled back: GitLab project apps/x.',
    );
    expect(error.cause.message).toBe('ECR repository x failed');
    expect(error.summary.undone).toEqual(['GitLab project apps/x']);
  });

  it('keeps undoing after an undo fails, and reports the failure', async () => {
    const { events, step } = tracker();
    const journal = new SagaJournal();
    const error = await journal
      .run(logger, async () => {
        await journal.step(step('a'));
        await journal.step(step('b', { failUndo: new Error('boom') }));
        await journal.step(step('c', { failDo: true }));
      })
      .catch(e => e);
    expect(events).toEqual(['do a', 'do b', 'undo a A']);
    expect(error.message).toContain(
      'Could NOT roll back (remove by hand): b (boom)',
    );
  });

  it('counts an undo of something already gone as done', async () => {
    const { step } = tracker();
    const journal = new SagaJournal();
    const error = await journal
      .run(logger, async () => {
        await journal.step(step('a', { failUndo: new NotFoundError('gone') }));
        throw new Error('later failure');
      })
      .catch(e => e);
    expect(error.summary).toEqual({ undone: ['a'], failed: [] });
  });

  it('says so when nothing had been created', async () => {
    const journal = new SagaJournal();
    await expect(
      journal.run(logger, async () => {
        throw new Error('name taken');
      }),
    ).rejects.toThrow(
      'name taken Nothing had been created, so nothing was rolled back.',
    );
  });

  it('rolls back steps recorded by earlier runs of the same journal', async () => {
    const { events, step } = tracker();
    const journals = new SagaJournals();
    await journals.forTask('t1').run(logger, async () => {
      await journals.forTask('t1').step(step('first action'));
    });
    await expect(
      journals.forTask('t1').run(logger, async () => {
        throw new Error('second action failed');
      }),
    ).rejects.toThrow('Rolled back: first action.');
    expect(events).toEqual([
      'do first action',
      'undo first action FIRST ACTION',
    ]);
  });
});

describe('SagaJournal after a rollback', () => {
  it('refuses to run again, since checkpoints would hand back deleted ids', async () => {
    const { step } = tracker();
    const journal = new SagaJournal();
    await journal
      .run(logger, async () => {
        await journal.step(step('a'));
        throw new Error('boom');
      })
      .catch(() => undefined);
    await expect(journal.run(logger, async () => 'again')).rejects.toThrow(
      'Start a new Create instead',
    );
  });

  it('lists a failed cleanup inside a step for removal by hand, keeping the step error', async () => {
    const journal = new SagaJournal();
    const error = await journal
      .run(logger, async () => {
        journal.leftover('IAM user idp-x-ci', new Error('AccessDenied'));
        throw new Error('could not store the key');
      })
      .catch(e => e);
    expect(error.message).toBe(
      'could not store the key Nothing had been created, so nothing was rolled back. Could NOT roll back (remove by hand): IAM user idp-x-ci (AccessDenied).',
    );
  });
});

describe('SagaJournals', () => {
  it('keeps one journal per task and forgets completed and stale ones', () => {
    let now = 0;
    const journals = new SagaJournals(() => now, 1000);
    const a = journals.forTask('a');
    expect(journals.forTask('a')).toBe(a);
    expect(journals.forTask('b')).not.toBe(a);
    journals.complete('a');
    expect(journals.forTask('a')).not.toBe(a);
    const b = journals.forTask('b');
    now = 5000;
    journals.forTask('c');
    expect(journals.forTask('b')).not.toBe(b);
  });
});
