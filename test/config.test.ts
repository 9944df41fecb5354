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
