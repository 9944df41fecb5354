import { jwtVerify } from 'jose';
import type { Server } from 'socket.io';

/**
 * What both Socket.io bench servers do with a socket, as a hand-rolled Socket.io app would: verify the JWT of
 * the handshake (HS256, the bench's secret), then let the socket `join` the room of a store its token allows.
 */
export function useStoreRooms(io: Server, key: Uint8Array): void {
  io.use(async (socket, next) => {
    try {
      const { payload } = await jwtVerify(String(socket.handshake.auth.token ?? ''), key, {
        algorithms: ['HS256'],
      });
      socket.data.stores = payload.stores as string[];
      socket.data.userId = payload.sub;
      next();
    } catch {
      next(new Error('unauthorized'));
    }
  });
  io.on('connection', (socket) => {
    socket.on('join', (storeId: string, ack: (reply: unknown) => void) => {
      const stores = socket.data.stores as string[];
      if (!stores.includes(storeId) && !stores.includes('*')) return ack({ error: 'forbidden' });
      void socket.join(`store:${storeId}`);
      ack({ ok: true });
    });
  });
}
