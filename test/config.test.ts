import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

describe('configuration from the environment', () => {
  it('refuses bad values with an error naming each variable', () => {
    const error = thrownBy(() =>
      loadConfig({ PORT: 'eighty', REDIS_URL: 'not a url', LOG_LEVEL: 'loud', JWT_SECRET: 'short' }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    for (const variable of ['PORT', 'REDIS_URL', 'LOG_LEVEL', 'JWT_SECRET']) {
      expect(error?.message).toContain(`  ${variable}:`);
    }
  });

  it('reads the recent events window, per topic kind where given (the default age when only a count is)', () => {
    const config = loadConfig({
      RECENT_EVENTS_MAX_AGE_MS: '60000',
      RECENT_EVENTS_BY_KIND: 'orders=500:300000, menu=0',
    });
    expect(config.events.recent).toEqual({ maxEvents: 200, maxAgeMs: 60000 });
    // By default, the topics of notifications (merged streams, which replay from the table) keep nothing.
    expect(loadConfig({}).events.recentByKind).toEqual({ notifications: { maxEvents: 0, maxAgeMs: 120000 } });
    expect(config.events.recentByKind).toEqual({
      orders: { maxEvents: 500, maxAgeMs: 300000 },
      menu: { maxEvents: 0, maxAgeMs: 60000 },
    });
    expect(thrownBy(() => loadConfig({ RECENT_EVENTS_BY_KIND: 'orders:500' }))?.message).toContain(
      '  RECENT_EVENTS_BY_KIND:',
    );
  });

  it('refuses to start in production without a JWT key', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET, JWKS_URL or JWKS_FILE is required/,
    );
  });
});

function thrownBy(run: () => unknown): Error | undefined {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}
