import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectionRegistration, PresenceChange, PresenceRegistry } from '../../src/presence/registry';
import { createMemoryPresenceRegistry } from '../../src/presence/registry-memory';
import { createRedisPresenceRegistry } from '../../src/presence/registry-redis';
import { eventually } from '../support/eventually';
import { TEST_REDIS_URL, uniqueRedisPrefix } from '../support/server';

const kitchen = (connectionId: string, overrides: Partial<ConnectionRegistration> = {}) => ({
  connectionId,
  tenantId: 'acme',
  storeId: 'acme-downtown',
  userId: 'acme-kitchen',
  name: 'Grill screen',
  roles: ['KITCHEN' as const],
  stationIds: ['acme-downtown-grill'],
  ...overrides,
});

const summary = (changes: PresenceChange[]) =>
  changes.map((c) => `${c.kind} ${c.device.userId} ${c.device.connections}`);

const redisConnections: Redis[] = [];
afterAll(async () => {
  await Promise.all(redisConnections.map((redis) => redis.quit()));
});

/** Registries sharing one Redis prefix behave like the registries of instances of one deployment. */
function redisRegistries(leaseMs: number, count = 1): PresenceRegistry[] {
  const keyPrefix = uniqueRedisPrefix();
  return Array.from({ length: count }, () => {
    const redis = new Redis(TEST_REDIS_URL, { keyPrefix });
    redisConnections.push(redis);
    return createRedisPresenceRegistry({ redis, leaseMs });
  });
}

const backends: Array<[string, (leaseMs: number) => PresenceRegistry]> = [
  ['memory', (leaseMs) => createMemoryPresenceRegistry({ leaseMs })],
  ['redis', (leaseMs) => redisRegistries(leaseMs)[0] as PresenceRegistry],
];

describe.each(backends)('presence registry (%s)', (_name, create) => {
  it('keeps one entry per user and store, counting its connections; announces appearing, count changes and leaving', async () => {
    const registry = create(60_000);
    const online = await registry.register([kitchen('c1')]);
    expect(summary(online)).toEqual(['ONLINE acme-kitchen 1']);
    expect(online[0]?.device).toMatchObject({
      name: 'Grill screen',
      roles: ['KITCHEN'],
      stationIds: ['acme-downtown-grill'],
    });
    expect(summary(await registry.register([kitchen('c2')]))).toEqual(['ONLINE acme-kitchen 2']);
    const [entry] = await registry.devices('acme', 'acme-downtown');
    expect(entry).toMatchObject({ userId: 'acme-kitchen', connections: 2 });
    expect(entry!.since).toBeLessThanOrEqual(entry!.lastSeenAt);
    expect(Math.abs(entry!.since - Date.now())).toBeLessThan(60_000); // milliseconds since epoch, not seconds

    expect(summary(await registry.unregister('c1', 0))).toEqual(['ONLINE acme-kitchen 1']);
    const offline = await registry.unregister('c2', 0);
    expect(summary(offline)).toEqual(['OFFLINE acme-kitchen 0']);
    expect(offline[0]!.device.revision).toBeGreaterThan(online[0]!.device.revision);
    expect(await registry.devices('acme', 'acme-downtown')).toEqual([]);
    expect(await registry.unregister('c2', 0)).toEqual([]); // twice is harmless
  });

  it('keeps a dropped device through its grace period: a reconnect announces nothing, the end of grace OFFLINE once', async () => {
    const registry = create(60_000);
    await registry.register([kitchen('c1')]);
    expect(await registry.unregister('c1', 60_000)).toEqual([]);
    expect(await registry.devices('acme', 'acme-downtown')).toMatchObject([{ connections: 0 }]);
    expect(await registry.register([kitchen('c2')])).toEqual([]);
    expect(await registry.devices('acme', 'acme-downtown')).toMatchObject([{ connections: 1 }]);
    expect(await registry.sweep()).toEqual([]);

    expect(await registry.unregister('c2', 150)).toEqual([]);
    const reaped = await eventually(async () => {
      const changes = await registry.sweep();
      return changes.length > 0 && changes;
    });
    expect(summary(reaped)).toEqual(['OFFLINE acme-kitchen 0']);
    expect(await registry.sweep()).toEqual([]);
    expect(await registry.devices('acme', 'acme-downtown')).toEqual([]);
  });

  it('reaps a connection whose lease ran out (its instance died) and takes it back when it is renewed', async () => {
    const registry = create(300);
    await registry.register([kitchen('c1')]);
    const reaped = await eventually(async () => {
      const changes = await registry.sweep();
      return changes.length > 0 && changes;
    });
    expect(summary(reaped)).toEqual(['OFFLINE acme-kitchen 0']);
    // The instance was only slow: its next renewal registers the connection again.
    expect(summary(await registry.register([kitchen('c1')]))).toEqual(['ONLINE acme-kitchen 1']);
  });

  it('keeps ids that contain separators apart', async () => {
    const registry = create(60_000);
    await registry.register([kitchen('c1', { tenantId: 'a:b', storeId: 'c', userId: 'u' })]);
    await registry.register([kitchen('c2', { tenantId: 'a', storeId: 'b:c', userId: 'u' })]);
    expect(await registry.devices('a:b', 'c')).toMatchObject([
      { tenantId: 'a:b', storeId: 'c', connections: 1 },
    ]);
    expect(await registry.devices('a', 'b:c')).toMatchObject([
      { tenantId: 'a', storeId: 'b:c', connections: 1 },
    ]);
    expect(await registry.devices('a', 'b')).toEqual([]);
  });

  it('runs a station offline clock, lets one caller claim its alert until the station is back', async () => {
    const registry = create(60_000);
    const grill = { tenantId: 'acme', stationId: 'acme-downtown-grill' };
    const first = await registry.markStationOffline(grill);
    const second = await registry.markStationOffline(grill);
    expect(second.since).toBe(first.since);
    expect(second.now).toBeGreaterThanOrEqual(first.now);
    expect(await registry.offlineStations()).toEqual([grill]);
    expect(await registry.claimStationAlert(grill)).toBe(true);
    expect(await registry.claimStationAlert(grill)).toBe(false);
    await registry.markStationBack(grill);
    expect(await registry.offlineStations()).toEqual([]);
    expect(await registry.claimStationAlert(grill)).toBe(true);
    await registry.releaseStationAlert(grill);
    expect(await registry.claimStationAlert(grill)).toBe(true);

    expect(await registry.takeTurn('job', 'instance-a', 60_000)).toBe(true);
    expect(await registry.takeTurn('job', 'instance-b', 60_000)).toBe(false);
    expect(await registry.takeTurn('job', 'instance-a', 60_000)).toBe(true);
  });
});

describe('presence registry shared by instances (redis)', () => {
  it('announces a change to exactly one instance, whichever reaps it', async () => {
    const [a, b] = redisRegistries(60_000, 2) as [PresenceRegistry, PresenceRegistry];
    expect(summary(await a.register([kitchen('on-a')]))).toEqual(['ONLINE acme-kitchen 1']);
    expect(summary(await b.register([kitchen('on-b')]))).toEqual(['ONLINE acme-kitchen 2']);
    expect(await b.devices('acme', 'acme-downtown')).toMatchObject([{ connections: 2 }]);
    await a.unregister('on-a', 100);
    await b.unregister('on-b', 100);
    const seen: PresenceChange[] = [];
    await eventually(async () => {
      const [fromA, fromB] = await Promise.all([a.sweep(), b.sweep()]);
      seen.push(...fromA, ...fromB);
      return seen.length > 0;
    });
    expect(summary([...seen, ...(await a.sweep()), ...(await b.sweep())])).toEqual([
      'OFFLINE acme-kitchen 0',
    ]);
  });
});

describe('presence registry publishing its changes (redis)', () => {
  it('publishes a registration’s change in its script, as the server would have published it', async () => {
    const keyPrefix = uniqueRedisPrefix();
    const redis = new Redis(TEST_REDIS_URL, { keyPrefix });
    const listener = new Redis(TEST_REDIS_URL);
    redisConnections.push(redis, listener);
    const channel = `${keyPrefix}t:acme:store:acme-downtown:presence`;
    const received: unknown[] = [];
    listener.on('message', (from: string, text: string) => {
      if (from === channel) received.push(JSON.parse(text));
    });
    await listener.subscribe(channel);
    const registry = createRedisPresenceRegistry({
      redis,
      leaseMs: 60_000,
      channelOf: (tenantId, storeId) => `${keyPrefix}t:${tenantId}:store:${storeId}:presence`,
    });
    const named = kitchen('c1', { name: 'Grill "1" / ünï', stationIds: [] });
    const [change] = await registry.register([named]);
    expect(change?.published).toBe(true);
    const { published: _published, ...message } = change!;
    await eventually(() => received.length === 1);
    // What the server publishes for a change it publishes itself (src/domain/presence.ts, announce).
    expect(received[0]).toEqual({ ...message, tenantId: 'acme', storeId: 'acme-downtown' });
    // A renewal announces nothing, so publishes nothing.
    expect(await registry.register([named])).toEqual([]);
    const [{ published: _second, ...second }] = (await registry.register([kitchen('c2')])) as [
      PresenceChange,
    ];
    expect(second.device.connections).toBe(2);
    await eventually(() => received.length === 2);
    expect(received[1]).toEqual({ ...second, tenantId: 'acme', storeId: 'acme-downtown' });
    // Its closes too, when told the connection's store: the count going down, then OFFLINE.
    const store = { tenantId: 'acme', storeId: 'acme-downtown' };
    const closes = [
      ['c1', 'ONLINE', 1],
      ['c2', 'OFFLINE', 0],
    ] as const;
    for (const [i, [connection, kind, count]] of closes.entries()) {
      const [{ published, ...change }] = (await registry.unregister(connection, 0, store)) as [
        PresenceChange,
      ];
      expect([published, change.kind, change.device.connections]).toEqual([true, kind, count]);
      await eventually(() => received.length === 3 + i);
      expect(received[2 + i]).toEqual({ ...change, ...store });
    }
    expect(received).toHaveLength(4);
  });
});
