import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../src/limits/config';
import { createLimits } from '../../src/limits/index';
import { createLogger } from '../../src/observability/logger';

describe('limits without Redis', () => {
  it('counts in this instance and says so', async () => {
    const limits = await createLimits(
      { env: 'test', redisPrefix: 'x:', allowedOrigins: [], introspection: true, limits: defaultLimits() },
      { logger: createLogger('silent') },
    );
    expect(limits.mode()).toBe('local');
    const rule = { name: 'r', limit: 1, windowMs: 1000 };
    expect((await limits.rateLimiter.consume(rule, 'u')).allowed).toBe(true);
    expect((await limits.rateLimiter.consume(rule, 'u')).allowed).toBe(false);
    expect(limits.connections.serverOptions).toMatchObject({
      maxPayload: 1048576,
      allowSynchronousEvents: false,
    });
    await limits.close();
  });
});
