import { LoggerService } from '@backstage/backend-plugin-api';

/**
 * Whether a failure is worth trying again: the request may never have
 * reached the system (a connection reset or refused, a kept-alive socket the
 * server had closed, a timeout) or the system said "not now" (429, 502, 503,
 * 504). Anything the system decided (403, 404, 409, 400) is not transient.
 * Walks the `cause` chain, since clients wrap the network error.
 */
export function isTransient(error: unknown): boolean {
  const NETWORK =
    /fetch failed|socket hang up|other side closed|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_(SOCKET|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|CLOSED)/;
  const STATUS = /\b(HTTP|status) (429|502|503|504)\b/;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const e = current as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    const name = String(e.name ?? '');
    if (['NotAllowedError', 'NotFoundError', 'ConflictError', 'InputError', 'AuthenticationError'].includes(name)) {
      // A decision, unless it only wraps a network failure (checked via cause below).
    } else if (name === 'ServiceUnavailableError') {
      return true;
    }
    if (NETWORK.test(String(e.code ?? '')) || NETWORK.test(String(e.message ?? ''))) return true;
    if (STATUS.test(String(e.message ?? ''))) return true;
    current = e.cause;
  }
  return false;
}

/**
 * Runs `attempt` again while it fails transiently (see {@link isTransient}),
 * with exponential backoff and jitter, logging each retry; any other
 * failure, or the last attempt's, is thrown. Every attempt must re-read
 * what it acts on, so nothing is done twice.
 */
export async function retryTransient<T>(
  opts: {
    logger: LoggerService;
    what: string;
    attempts?: number;
    sleep?: (ms: number) => Promise<void>;
  },
  attempt: () => Promise<T>,
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const sleep = opts.sleep ?? (ms => new Promise<void>(r => setTimeout(r, ms)));
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= attempts || !isTransient(error)) throw error;
      const delay = Math.round(250 * 2 ** n * (0.5 + Math.random() / 2));
      const message = error instanceof Error ? error.message : String(error);
      opts.logger.warn(
        `${opts.what}: ${message} (transient); trying again in ${delay} ms, attempt ${n + 1} of ${attempts}`,
      );
      await sleep(delay);
    }
  }
}
