'use strict';

const { Router } = require('express');
const request = require('supertest');
const { createApp } = require('../src/app');
const { createLogger } = require('../src/logger');
const { createMetrics } = require('../src/metrics');

function setup(routes, database) {
  const lines = [];
  const logger = createLogger({
    stream: { write: line => lines.push(JSON.parse(line)) },
  });
  const metrics = createMetrics();
  const app = createApp({
    logger,
    metrics,
    database,
    ...(routes ? { routes } : {}),
  });
  return { app, lines, metrics };
}

async function sampleValue(metrics, name, labels) {
  const metric = await metrics.register.getSingleMetric(name).get();
  const sample = metric.values.find(v =>
    Object.entries(labels).every(([key, value]) => v.labels[key] === value),
  );
  return sample ? sample.value : 0;
}

describe('GET /health', () => {
  it('answers {"status":"ok"}', async () => {
    const { app } = setup();
    const res = await request(app).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('writes one JSON log line per request', async () => {
    const { app, lines } = setup();
    await request(app).get('/health');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      route: '/health',
      status: 200,
    });
  });
});

describe('GET /health with a database (DATABASE_URL)', () => {
  it('answers {"status":"ok","database":"ok"} when the database answers', async () => {
    const database = { check: jest.fn(async () => {}) };
    const { app } = setup(undefined, database);
    const res = await request(app).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', database: 'ok' });
    expect(database.check).toHaveBeenCalledTimes(1);
  });

  it('answers 503 "degraded" when it does not, and logs why without details in the answer', async () => {
    const database = {
      check: async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.7:5432');
      },
    };
    const { app, lines } = setup(undefined, database);
    const res = await request(app).get('/health').expect(503);
    expect(res.body).toEqual({ status: 'degraded', database: 'unreachable' });
    expect(res.text).not.toContain('10.0.0.7');
    expect(lines[0]).toMatchObject({
      level: 'warn',
      msg: 'database check failed',
      error: 'connect ECONNREFUSED 10.0.0.7:5432',
    });
    expect(lines[1]).toMatchObject({ msg: 'request', status: 503 });
  });
});

describe('GET /metrics', () => {
  it('exposes default metrics and counts requests by route', async () => {
    const { app } = setup();
    await request(app).get('/health').expect(200);
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toMatch(
      /^http_requests_total\{method="GET",route="\/health",status="200"\} 1$/m,
    );
    expect(res.text).toMatch(
      /^http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} 1$/m,
    );
  });

  it('labels requests with the route pattern, not the URL', async () => {
    const routes = Router().get('/orders/:id', (req, res) =>
      res.json({ id: req.params.id }),
    );
    const { app, metrics } = setup(routes);
    await request(app).get('/orders/1').expect(200);
    await request(app).get('/orders/2').expect(200);
    expect(
      await sampleValue(metrics, 'http_requests_total', {
        route: '/orders/:id',
        status: '200',
      }),
    ).toBe(2);
  });

  it('counts 5xx answers as errors', async () => {
    const routes = Router().get('/boom', () => {
      throw new Error('boom');
    });
    const { app, metrics, lines } = setup(routes);
    const res = await request(app).get('/boom').expect(500);
    expect(res.body).toEqual({ error: 'Internal Server Error' });
    expect(
      await sampleValue(metrics, 'http_request_errors_total', {
        route: '/boom',
        status: '500',
      }),
    ).toBe(1);
    expect(lines.some(l => l.level === 'error' && l.error === 'boom')).toBe(
      true,
    );
  });
});

describe('unknown paths', () => {
  it('answer 404 and are counted as "unmatched"', async () => {
    const { app, metrics } = setup();
    const res = await request(app).get('/no/such/path?x=1').expect(404);
    expect(res.body).toEqual({ error: 'Not Found' });
    expect(
      await sampleValue(metrics, 'http_requests_total', {
        route: 'unmatched',
        status: '404',
      }),
    ).toBe(1);
    expect(
      await sampleValue(metrics, 'http_request_errors_total', {
        route: 'unmatched',
      }),
    ).toBe(0);
  });
});
