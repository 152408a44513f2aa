import { Call, criticalPath, maxInFlight } from './criticalPath';

const call = (operation: string, start: number, end: number): Call => ({
  service: 'gitlab',
  operation,
  start,
  end,
});

describe('criticalPath', () => {
  it('is empty for no calls', () => {
    expect(criticalPath([])).toEqual({ ms: 0, chain: [] });
  });

  it('weights by duration, not by the number of calls', () => {
    // a -> b -> c is three calls but 30 ms; d alone is 100 ms.
    const calls = [call('a', 0, 10), call('b', 10, 20), call('c', 20, 30), call('d', 0, 100)];
    const { ms, chain } = criticalPath(calls);
    expect(ms).toBe(100);
    expect(chain.map(c => c.operation)).toEqual(['d']);
  });

  it('chains only calls that start after the previous one ended', () => {
    const calls = [
      call('find', 0, 200),
      call('overlapping', 150, 400), // starts before find ends
      call('create', 200, 400),
      call('commit', 410, 900),
      call('parallel', 420, 600),
    ];
    const { ms, chain } = criticalPath(calls);
    expect(chain.map(c => c.operation)).toEqual(['find', 'create', 'commit']);
    expect(ms).toBe(200 + 200 + 490);
  });

  it('ignores calls that never ended', () => {
    expect(criticalPath([call('hung', 10, 0), call('ok', 0, 5)]).ms).toBe(5);
  });
});

describe('maxInFlight', () => {
  it('counts overlapping calls, back-to-back ones not', () => {
    expect(maxInFlight([call('a', 0, 10), call('b', 10, 20)])).toBe(1);
    expect(maxInFlight([call('a', 0, 10), call('b', 5, 20), call('c', 6, 7)])).toBe(3);
  });
});
