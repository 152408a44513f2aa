import {
  ConflictError,
  ForwardedError,
  NotAllowedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { isTransient } from './transient';

const wrapped = (cause: unknown) => new ForwardedError('GitLab x: cannot commit: request failed', cause);

describe('isTransient', () => {
  it.each([
    ['a socket the server closed, wrapped twice', wrapped(Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } }))],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a refused connection', wrapped(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7080'), { code: 'ECONNREFUSED' }))],
    ['HTTP 503', new ForwardedError('ArgoCD: HTTP 503', new Error('x'))],
    ['HTTP 429', new Error('GitLab x: cannot list: HTTP 429')],
    ['ServiceUnavailableError', new ServiceUnavailableError('later')],
  ])('retries %s', (_what, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['403', new NotAllowedError('GitLab x: permission denied (HTTP 403)')],
    ['a taken name', new ConflictError('already taken')],
    ['HTTP 500 (the system answered: it may have acted; find decides on replay)', new Error('HTTP 500')],
    ['an injected failure', new Error('injected failure in gitlab.createProject (call 3)')],
    ['nothing', undefined],
  ])('does not retry %s', (_what, error) => {
    expect(isTransient(error)).toBe(false);
  });
});
