type Truthy<T> = Exclude<T, undefined | null | false | '' | 0>;

/**
 * Waits on a condition, never on time: polls `check` until it returns a truthy value (which it resolves
 * with), and fails after `timeoutMs` with the last error `check` threw. The bound is generous on purpose:
 * on a machine whose cores are busy, things take longer but still happen.
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw lastError instanceof Error ? lastError : new Error(`condition not met within ${timeoutMs} ms`);
}
