'use strict';

/**
 * A tiny structured logger: one JSON object per line on stdout, which is
 * what the cluster's log collector expects. Set LOG_LEVEL to debug, info,
 * warn, error or silent (default info).
 */
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

function createLogger({
  level = process.env.LOG_LEVEL || 'info',
  stream = process.stdout,
  fields = {},
} = {}) {
  const threshold = LEVELS[level] ?? LEVELS.info;

  const log =
    lvl =>
    (msg, extra = {}) => {
      if (LEVELS[lvl] < threshold) return;
      const entry = {
        time: new Date().toISOString(),
        level: lvl,
        ...fields,
        msg,
        ...extra,
      };
      stream.write(`${JSON.stringify(entry)}\n`);
    };

  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}

module.exports = { createLogger, LEVELS };
