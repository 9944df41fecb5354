import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';

describe('limit settings', () => {
  it('defaults to the documented limits', () => {
    const { limits } = loadConfig({});
    expect(limits.operation).toEqual({
      maxDepth: 12,
      maxCost: 5000,
      maxAliases: 15,
      maxTokens: 2000,
      maxDirectives: 10,
      maxDocumentBytes: 65536,
    });
    expect(limits.httpMaxBodyBytes).toBe(1048576);
    expect(limits.ws).toEqual({
      maxMessageBytes: 1048576,
      maxConnectionsPerUser: 5,
      maxConnectionsPerIp: 50,
      connectionAttemptsPerIp: 30,
      connectionAttemptsWindowMs: 10000,
      messagesPerConnection: 100,
      messagesWindowMs: 1000,
      maxHandshakes: 200,
      shedMinRetryAfterMs: 500,
      shedMaxRetryAfterMs: 30000,
    });
    expect(limits.subscriptions).toEqual({ maxPerConnection: 20, maxPerUser: 50 });
    expect(limits.rates).toEqual({
      windowMs: 60000,
      mutationsPerUser: 60,
      mutationOverrides: {},
      subscriptionStartsPerUser: 30,
      httpRequestsPerIp: 600,
      warnRatio: 0.8,
    });
    expect(limits.trustProxy).toBe(false);
  });

  it('reads per-mutation budgets from RATE_LIMIT_OVERRIDES', () => {
    const { limits } = loadConfig({ RATE_LIMIT_OVERRIDES: 'createOrder=120, sendNotification=10' });
    expect(limits.rates.mutationOverrides).toEqual({ createOrder: 120, sendNotification: 10 });
  });

  it.each([
    ['RATE_LIMIT_OVERRIDES', 'createOrder:120'],
    ['RATE_LIMIT_OVERRIDES', 'createOrder=lots'],
    ['MAX_DEPTH', '0'],
    ['WS_MAX_CONNECTIONS_PER_USER', 'five'],
    ['RATE_LIMIT_WARN_RATIO', '1.5'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
