import express from 'express';

/**
 * A fixed-window rate limit per key (the signed-in user): at most `limit`
 * requests per `windowMs`, then 429 with Retry-After. Status cards call
 * GitLab and ArgoCD with the platform's tokens, so one busy browser tab (or
 * a script) must not exhaust the platform's GitLab API quota.
 */
export function rateLimit(options: {
  limit: number;
  windowMs: number;
  key: (req: express.Request) => Promise<string>;
  now?: () => number;
}): express.RequestHandler {
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  return (req, res, next) => {
    options
      .key(req)
      .then(key => {
        const t = now();
        for (const [k, w] of windows) {
          if (t - w.start >= options.windowMs) windows.delete(k);
        }
        const w = windows.get(key) ?? { start: t, count: 0 };
        windows.set(key, w);
        w.count += 1;
        if (w.count > options.limit) {
          const retryAfter = Math.ceil((w.start + options.windowMs - t) / 1000);
          res.setHeader('Retry-After', String(Math.max(retryAfter, 1)));
          res.status(429).json({
            error: {
              name: 'TooManyRequests',
              message: `At most ${options.limit} status requests per ${
                options.windowMs / 1000
              } s per user; try again in ${retryAfter} s`,
            },
          });
          return;
        }
        next();
      })
      .catch(next);
  };
}
