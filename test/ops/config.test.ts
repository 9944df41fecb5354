import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('operations configuration', () => {
  it('has defaults for the heartbeat bound, health checks and cluster reports, and an instance id', () => {
    const config = loadConfig({});
    expect(config.ops).toMatchObject({
      pongTimeoutMs: 10_000,
      healthCheckIntervalMs: 2000,
      statsReportIntervalMs: 5000,
    });
    expect(config.ops.instanceId).toMatch(/^[\w.:-]+$/);
    expect(config.redisOptions).toBeUndefined();
  });

  it('turns REDIS_SENTINELS into ioredis sentinel options', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://:secret@primary/2',
      REDIS_SENTINELS: 'sentinel-a:26379, sentinel-b:26380',
      REDIS_SENTINEL_NAME: 'expediter',
    });
    expect(config.redisOptions).toEqual({
      name: 'expediter',
      sentinels: [
        { host: 'sentinel-a', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
      ],
    });
  });

  it('refuses sentinels without a master name or a REDIS_URL, or an entry without a port', () => {
    expect(() => loadConfig({ REDIS_SENTINELS: 'sentinel-a' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_SENTINELS: 'sentinel-a' })).toThrow(
      /REDIS_SENTINEL_NAME[\s\S]*REDIS_URL[\s\S]*not host:port/,
    );
  });
});
