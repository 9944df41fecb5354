import { once } from 'node:events';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy in front of a Redis of the test's own, so that a test decides when one instance loses Redis and
 * when it may reconnect, whatever the others do: `cut()` drops its connections and refuses new ones until
 * `open()`. `holdPublishes()` lets commands through up to the next PUBLISH an instance sends and holds that
 * connection from there on (nothing after it reaches Redis): a process killed then has committed an event
 * that it never published.
 */
export interface TcpGate {
  /** redis://127.0.0.1:<gate port> */
  url: string;
  open(): void;
  cut(): void;
  holdPublishes(): void;
  /** Resolves once a PUBLISH was held. */
  publishHeld(): Promise<void>;
  close(): Promise<void>;
}

const PUBLISH = Buffer.from('*3\r\n$7\r\npublish\r\n');

export async function tcpGate(targetPort: number): Promise<TcpGate> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let admitting = true;
  let holding = false;
  let held: () => void = () => {};
  let heldPromise = new Promise<void>((resolve) => {
    held = resolve;
  });

  const server = createServer((client) => {
    if (!admitting) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));

    let pending = Buffer.alloc(0);
    let stuck = false;
    client.on('data', (chunk: Buffer) => {
      if (stuck) return;
      if (!holding) {
        upstream.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      const at = pending.indexOf(PUBLISH);
      if (at >= 0) {
        if (at > 0) upstream.write(pending.subarray(0, at));
        stuck = true;
        pending = Buffer.alloc(0);
        held();
        return;
      }
      // Keep only a tail that could be the start of a PUBLISH split across chunks (more bytes follow then).
      let keep = Math.min(pending.length, PUBLISH.length - 1);
      while (keep > 0 && !pending.subarray(pending.length - keep).equals(PUBLISH.subarray(0, keep))) keep--;
      upstream.write(pending.subarray(0, pending.length - keep));
      pending = pending.subarray(pending.length - keep);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    url: `redis://127.0.0.1:${port}`,
    open() {
      admitting = true;
    },
    cut() {
      admitting = false;
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
    },
    holdPublishes() {
      holding = true;
      heldPromise = new Promise<void>((resolve) => {
        held = resolve;
      });
    },
    publishHeld: () => heldPromise,
    async close() {
      admitting = false;
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
