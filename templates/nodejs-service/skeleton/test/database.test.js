'use strict';

const net = require('node:net');
const { createDatabase, redact } = require('../src/database');

/** A local port nothing listens on: connections to it are refused. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe('createDatabase', () => {
  it('is undefined without a URL', () => {
    expect(createDatabase({ url: '' })).toBeUndefined();
  });

  it('rejects the check, without the password, when the database is unreachable', async () => {
    const port = await closedPort();
    const url = `postgresql://app:s3cret-pw@127.0.0.1:${port}/app?sslmode=disable`;
    const database = createDatabase({ url, timeoutMs: 1000 });
    try {
      const error = await database.check().then(
        () => undefined,
        err => err,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(error.message).not.toContain('s3cret-pw');
    } finally {
      await database.close();
    }
  });
});

describe('redact', () => {
  it('removes the URL and its password from a message', () => {
    const url = 'postgresql://app:p%40ss@db.internal:5432/app';
    expect(redact(`cannot parse ${url}`, url)).toBe('cannot parse ***');
    expect(redact('password p@ss was refused', url)).toBe(
      'password *** was refused',
    );
    expect(redact('no secrets here', 'not a url')).toBe('no secrets here');
  });
});
