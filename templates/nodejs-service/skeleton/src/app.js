'use strict';

const express = require('express');
const { createLogger } = require('./logger');
const { createMetrics, routeLabel } = require('./metrics');
const defaultRoutes = require('./routes');

/** Logs one JSON line per request once its response has been sent. */
function requestLogger(logger) {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      logger.info('request', {
        method: req.method,
        url: req.originalUrl,
        route: routeLabel(req),
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - start) / 1e6,
      });
    });
    next();
  };
}

/**
 * Builds the Express application. Every dependency can be replaced, which
 * keeps the tests free of global state. `database` (see ./database.js) is
 * optional: without it /health reports only the process.
 */
function createApp({
  logger = createLogger(),
  metrics = createMetrics(),
  routes = defaultRoutes,
  database,
} = {}) {
  const app = express();
  app.disable('x-powered-by');

  app.use(metrics.middleware);
  app.use(requestLogger(logger));

  app.get('/health', async (_req, res) => {
    if (!database) {
      res.json({ status: 'ok' });
      return;
    }
    try {
      await database.check();
      res.json({ status: 'ok', database: 'ok' });
    } catch (err) {
      // The reason goes to the log only; the answer names no host or user.
      logger.warn('database check failed', { error: err.message });
      res.status(503).json({ status: 'degraded', database: 'unreachable' });
    }
  });
  app.get('/metrics', metrics.handler);

  app.use(routes);

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not Found' });
  });

  app.use((err, req, res, next) => {
    const status =
      Number.isInteger(err.status) && err.status >= 400 ? err.status : 500;
    if (status >= 500) {
      logger.error('request failed', {
        url: req.originalUrl,
        error: err.message,
        stack: err.stack,
      });
    }
    // Too late for a JSON answer: let Express close the connection.
    if (res.headersSent) return next(err);
    res
      .status(status)
      .json({ error: status >= 500 ? 'Internal Server Error' : err.message });
  });

  return app;
}

module.exports = { createApp };
