'use strict';

const { Router } = require('express');
const { start } = require('../src/server');
const { createLogger } = require('../src/logger');

const logger = createLogger({ level: 'silent' });

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then stops accepting connections', async () => {
    let release;
    const routes = Router().get('/slow', async (_req, res) => {
      await new Promise(resolve => {
        release = resolve;
      });
      res.json({ done: true });
    });
    const { listening, shutdown } = start({ port: 0, logger, routes });
    const port = await listening;
    const url = `http://127.0.0.1:${port}`;

    const inFlight = fetch(`${url}/slow`);
    while (!release) await new Promise(resolve => setTimeout(resolve, 10));

    const closed = shutdown('test');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    release();

    const res = await inFlight;
    expect(await res.json()).toEqual({ done: true });
    await expect(closed).resolves.toBeUndefined();
  });

  it('gives up after the timeout when a request never finishes', async () => {
    const routes = Router().get('/hang', () => {});
    const { listening, shutdown } = start({
      port: 0,
      logger,
      routes,
      shutdownTimeoutMs: 200,
    });
    const port = await listening;
    const hanging = fetch(`http://127.0.0.1:${port}/hang`).catch(() => 'cut');
    await new Promise(resolve => setTimeout(resolve, 50));
    await expect(shutdown('test')).rejects.toThrow(
      /still running after 200 ms/,
    );
    await expect(hanging).resolves.toBe('cut');
  });
});
