import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server, one per client connection, so a test can take a client's network away:
 * `blackhole()` keeps the TCP connections open but lets no byte through in either direction (a phone that lost
 * its signal: only the server's heartbeat notices), `cut()` resets them (the server sees an abnormal close).
 */
export async function startNetworkProxy(targetPort: number, targetHost = '127.0.0.1') {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const socket of pair) {
      socket.on('error', () => {});
      socket.on('close', () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    /** ws://… of the proxied server's GraphQL endpoint. */
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    blackhole() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    cut() {
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
