import type { TestServer } from './server';

/** Resolves once the condition holds (checked every 20 ms); rejects after timeoutMs. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs `subscribe` and resolves once the server's fan-out engine counts one more subscriber: from then on the
 * subscription receives every event committed (no "settle" pause needed).
 */
export async function live<T>(app: Pick<TestServer, 'server'>, subscribe: () => T): Promise<T> {
  const stats = () => app.server.fanout?.stats().subscribers ?? 0;
  const before = stats();
  const subscription = subscribe();
  await waitFor(() => stats() > before);
  return subscription;
}
