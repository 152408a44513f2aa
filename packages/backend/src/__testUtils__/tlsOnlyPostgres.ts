import net from 'node:net';

/** PostgreSQL's SSLRequest code (frontend protocol: length 8, then this). */
const SSL_REQUEST = 80877103;

/** An ErrorResponse message: severity, SQLSTATE and text, as the server sends it. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat(
    [
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', code],
      ['M', message],
    ].map(([type, value]) => Buffer.from(`${type}${value}\0`, 'utf8')),
  );
  const body = Buffer.concat([fields, Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** The `user` and `database` of a StartupMessage (int32 length, int32 version, key\0value\0 … \0). */
function startupParameters(message: Buffer): Record<string, string> {
  const parts = message.subarray(8).toString('utf8').split('\0');
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (!parts[i]) break;
    params[parts[i]] = parts[i + 1];
  }
  return params;
}

/**
 * A PostgreSQL that accepts only TLS, in front of the machine's real one
 * (whose pg_hba.conf we may not change): a connection that starts with an
 * SSLRequest is passed through byte for byte (TLS is then negotiated with
 * the real server, end to end); one that starts in clear text gets the very
 * answer PostgreSQL gives for a `hostssl`-only pg_hba.conf (and RDS with
 * rds.force_ssl=1): FATAL 28000 `no pg_hba.conf entry for host "…", user
 * "…", database "…", no encryption`.
 */
export async function startTlsOnlyPostgres(
  upstream = { host: '127.0.0.1', port: 5432 },
): Promise<{ port: number; refused: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let refused = 0;
  const server = net.createServer(client => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      const length = buffered.readInt32BE(0);
      const code = buffered.readInt32BE(4);
      if (length === 8 && code === SSL_REQUEST) {
        client.off('data', onData);
        client.pause();
        const server_ = net.connect(upstream, () => {
          server_.write(buffered);
          client.pipe(server_);
          server_.pipe(client);
          client.resume();
        });
        sockets.add(server_);
        server_.on('close', () => {
          sockets.delete(server_);
          client.destroy();
        });
        server_.on('error', () => client.destroy());
        client.on('close', () => server_.destroy());
        return;
      }
      if (buffered.length < length) return;
      client.off('data', onData);
      refused++;
      const params = startupParameters(buffered.subarray(0, length));
      client.end(
        errorResponse(
          '28000',
          `no pg_hba.conf entry for host "${client.remoteAddress?.replace(/^::ffff:/, '')}", user "${params.user}", database "${params.database ?? params.user}", no encryption`,
        ),
      );
    };
    client.on('data', onData);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get refused() {
      return refused;
    },
    close: async () => {
      sockets.forEach(s => s.destroy());
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
