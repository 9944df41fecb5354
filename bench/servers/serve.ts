import { writeHeapSnapshot } from 'node:v8';
import { type ServerRequest, serverStats, tell } from '../protocol';

/** Common child-process loop: report readiness, answer stats, close on request or when the parent leaves. */
export async function serveBench(start: () => Promise<{ port: number; close(): Promise<void> }>) {
  const server = await start();
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, 3000))]);
    process.exit(0);
  };
  process.on('message', (message: ServerRequest) => {
    if (message.cmd === 'stats') void tell({ type: 'stats', ...serverStats(message.gc ?? false) });
    if (message.cmd === 'heap') {
      (globalThis as { gc?: () => void }).gc?.();
      void tell({ type: 'heap', file: writeHeapSnapshot(message.file) });
    }
    if (message.cmd === 'close') void close();
  });
  process.on('disconnect', () => void close());
  // The storm scenario stops an instance as an orchestrator would: SIGTERM, the graceful close (or SIGKILL).
  process.on('SIGTERM', () => void close());
  await tell({ type: 'ready', port: server.port });
}
