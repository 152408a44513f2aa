'use strict';

const client = require('prom-client');

const LABELS = ['method', 'route', 'status'];

/**
 * The label for the route that handled a request: the Express route pattern
 * (for example `/orders/:id`), never the raw URL, so that the number of time
 * series stays bounded. Requests that matched no route are `unmatched`.
 */
function routeLabel(req) {
  if (!req.route) return 'unmatched';
  return `${req.baseUrl}${String(req.route.path)}`;
}

/**
 * Prometheus metrics for the service: Node.js default metrics plus the RED
 * metrics (rate, errors, duration) of every HTTP request.
 */
function createMetrics({ register = new client.Registry() } = {}) {
  client.collectDefaultMetrics({ register });

  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests handled, by method, matched route and status code.',
    labelNames: LABELS,
    registers: [register],
  });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests in seconds, by method, matched route and status code.',
    labelNames: LABELS,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [register],
  });
  const errors = new client.Counter({
    name: 'http_request_errors_total',
    help: 'HTTP requests answered with a 5xx status code, by method, matched route and status code.',
    labelNames: LABELS,
    registers: [register],
  });

  function middleware(req, res, next) {
    const stopTimer = duration.startTimer();
    res.once('finish', () => {
      const labels = {
        method: req.method,
        route: routeLabel(req),
        status: String(res.statusCode),
      };
      requests.inc(labels);
      stopTimer(labels);
      if (res.statusCode >= 500) errors.inc(labels);
    });
    next();
  }

  async function handler(_req, res) {
    res.set('Content-Type', register.contentType);
    res.send(await register.metrics());
  }

  return { register, middleware, handler };
}

module.exports = { createMetrics, routeLabel };
