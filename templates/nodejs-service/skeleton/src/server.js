'use strict';

const http = require('node:http');
const { createApp } = require('./app');
const { createDatabase } = require('./database');
const { createLogger } = require('./logger');

/** The port chosen when the service was created; PORT overrides it. */
const DEFAULT_PORT = Number('${{ values.port }}');

/**
 * Starts the HTTP server. Returns the server, a promise of the port it
 * listens on, and `shutdown()`, which stops accepting connections, lets
 * in-flight requests finish, closes the database pool and resolves once
 * the server is closed (or rejects after `shutdownTimeoutMs`, having cut
 * the remaining connections). The database comes from DATABASE_URL unless
 * one is passed in.
 */
function start({
  port = Number(process.env.PORT || DEFAULT_PORT),
  logger = createLogger(),
  shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS || 10000),
  database = createDatabase({ logger }),
  ...appOptions
} = {}) {
  const server = http.createServer(
    createApp({ logger, database, ...appOptions }),
  );

  const listening = new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      const actual = server.address().port;
      logger.info('listening', { port: actual });
      resolve(actual);
    });
  });

  let closing;
  function shutdown(reason = 'shutdown') {
    if (closing) return closing;
    logger.info('shutting down', { reason });
    closing = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        server.closeAllConnections();
        reject(
          new Error(`requests still running after ${shutdownTimeoutMs} ms`),
        );
      }, shutdownTimeoutMs);
      timer.unref();
      // Keep-alive connections that go idle while we drain are closed too.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      idle.unref();
      server.close(err => {
        clearTimeout(timer);
        clearInterval(idle);
        if (err) reject(err);
        else resolve();
      });
    }).then(() => database?.close());
    return closing;
  }

  return { server, listening, shutdown };
}

if (require.main === module) {
  const logger = createLogger();
  const { listening, shutdown } = start({ logger });
  listening.catch(err => {
    logger.error('cannot listen', { error: err.message });
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        err => {
          logger.error('unclean shutdown', { error: err.message });
          process.exit(1);
        },
      );
    });
  }
}

module.exports = { start, DEFAULT_PORT };
