import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/server';

/**
 * A raw graphql-transport-ws socket: sends `init` (if any) and waits for the ack, then sends `message`;
 * resolves with how the server closed the socket.
 */
function closeAfter(
  url: string,
  init: object | undefined,
  message: object,
): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify(init ?? message)));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') socket.send(JSON.stringify(message));
    });
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    socket.on('error', reject);
  });
}

describe('graphql-ws: messages only a server sends', () => {
  let app: TestServer;
  let init: object;
  beforeAll(async () => {
    app = await startTestServer();
    init = { type: 'connection_init', payload: { authorization: `Bearer ${await app.token('acme-staff')}` } };
  });
  afterAll(() => app?.close());

  const serverOnly: Array<[string, object]> = [
    ['connection_ack', { type: 'connection_ack' }],
    ['next', { id: '1', type: 'next', payload: { data: { me: { id: 'acme-admin' } } } }],
    ['error', { id: '1', type: 'error', payload: [{ message: 'forged' }] }],
  ];

  it.each(serverOnly)('closes an acknowledged socket that sends %s with 4400', async (type, message) => {
    expect(await closeAfter(app.wsUrl, init, message)).toEqual({
      code: 4400,
      reason: `Unexpected message of type ${type}`,
    });
  });

  it.each(serverOnly)(
    'closes a socket that sends %s instead of connection_init with 4400',
    async (_type, message) => {
      expect((await closeAfter(app.wsUrl, undefined, message)).code).toBe(4400);
    },
  );
});

describe('graphql-ws: sockets that do not follow the protocol', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer({ env: { WS_CONNECTION_INIT_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => app?.close());

  /** A raw graphql-ws socket that sends `message` (if any) and nothing else: how the server closed it. */
  function rawSocket(url: string, message?: string): Promise<{ code: number; reason: string }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws');
      socket.on('open', () => {
        if (message !== undefined) socket.send(message);
      });
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      socket.on('error', reject);
    });
  }

  it('closes a socket that sends no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS with 4408', async () => {
    expect((await rawSocket(app.wsUrl)).code).toBe(4408);
  });

  it('closes a socket that sends a malformed protocol message with 4400', async () => {
    expect((await rawSocket(app.wsUrl, '{"type":"nonsense"}')).code).toBe(4400);
  });
});
