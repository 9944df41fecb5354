import type { Redis } from 'ioredis';
import type { Role } from '../auth/principal';
import {
  type DeviceEntry,
  deviceKeyOf,
  type PresenceChange,
  type PresenceRegistry,
  stationKeyOf,
  stationOfKey,
  storeKeyOf,
} from './registry';

/**
 * The registry in Redis, shared by every instance (the rules are in registry.ts). Each operation is one Lua
 * script, so concurrent instances never both announce a change, and all times are Redis' clock (`TIME`), so
 * instances whose clocks differ agree on leases and grace. Keys live under `<REDIS_PREFIX>presence:`:
 *
 *   lease       sorted set  connection id -> lease deadline (ms)
 *   conn        hash        connection id -> device key
 *   grace       sorted set  device key -> when it goes OFFLINE unless a connection comes back
 *   d:<device>  hash        the entry (tenantId, storeId, userId, name, roles, stationIds, connections,
 *                           announced, since, lastSeenAt, revision, storeKey)
 *   s:<store>   set         device keys of a store
 *   rev         counter     revisions
 *   station-offline  hash   station key -> first seen offline (ms); station-alerted: set of station keys
 *   turn:<name> string      which instance runs a periodic job now
 *
 * Scripts build key names from KEYS[1] (the prefixed base), so they assume one Redis, not Redis Cluster.
 */

const BASE = 'presence:';
/** Connections registered per script call (a renewal of 10,000 sockets is 50 short scripts, not one long one). */
const BATCH = 200;
/** Leases and grace periods reaped per sweep call. */
const SWEEP_LIMIT = 500;

const COMMON = `
local B = KEYS[1]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The change as the server's PresenceMessage in JSON (toEntry's fields; roles and stationIds are stored as JSON).
local function message(kind, now, fields)
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  local s = cjson.encode
  local store = ',"tenantId":' .. s(f.tenantId or '') .. ',"storeId":' .. s(f.storeId or '')
  return '{"kind":"' .. kind .. '","occurredAt":' .. tostring(now) .. ',"device":{"userId":' .. s(f.userId or '')
    .. ',"name":' .. s(f.name or '') .. ',"roles":' .. (f.roles or '[]') .. ',"stationIds":' .. (f.stationIds or '[]')
    .. ',"connections":' .. (f.connections or '0') .. ',"since":' .. (f.since or '0') .. ',"lastSeenAt":'
    .. (f.lastSeenAt or '0') .. ',"revision":' .. (f.revision or '0') .. store .. '}' .. store .. '}'
end
-- channel: where the change is published now (then marked published), or '' (the caller publishes it).
-- A change for the caller; published here when the caller gave its channel (then marked as published).
local function emit(status, now, fields, out, channel)
  if channel and channel ~= '' then
    redis.call('PUBLISH', channel, message(status, now, fields))
    out[#out + 1] = {status, tostring(now), fields, '1'}
  else
    out[#out + 1] = {status, tostring(now), fields}
  end
end
local function announce(key, now, out, channel)
  local d = B .. 'd:' .. key
  local c = tonumber(redis.call('HGET', d, 'connections') or '0')
  local a = tonumber(redis.call('HGET', d, 'announced') or '0')
  if c <= 0 or c == a then return end
  redis.call('HSET', d, 'announced', c, 'revision', redis.call('INCR', B .. 'rev'))
  local fields = redis.call('HGETALL', d)
  emit('ONLINE', now, fields, out, channel)
end
local function remove(key, now, out, channel)
  local d = B .. 'd:' .. key
  if redis.call('EXISTS', d) == 0 then return end
  local a = tonumber(redis.call('HGET', d, 'announced') or '0')
  redis.call('HSET', d, 'connections', 0, 'revision', redis.call('INCR', B .. 'rev'))
  local fields = redis.call('HGETALL', d)
  redis.call('SREM', B .. 's:' .. redis.call('HGET', d, 'storeKey'), key)
  redis.call('ZREM', B .. 'grace', key)
  redis.call('DEL', d)
  if a <= 0 then return end
  emit('OFFLINE', now, fields, out, channel)
end
local function drop(conn, grace, now, out, channel)
  local key = redis.call('HGET', B .. 'conn', conn)
  redis.call('HDEL', B .. 'conn', conn)
  redis.call('ZREM', B .. 'lease', conn)
  if not key then return end
  local d = B .. 'd:' .. key
  if redis.call('EXISTS', d) == 0 then return end
  local c = redis.call('HINCRBY', d, 'connections', -1)
  redis.call('HSET', d, 'lastSeenAt', now)
  if c > 0 then return announce(key, now, out, channel) end
  if grace > 0 then
    redis.call('ZADD', B .. 'grace', now + grace, key)
    return
  end
  remove(key, now, out, channel)
end
`;

/** ARGV: leaseMs, then 10 values per connection (see register), the last its store's presence channel or ''. */
const REGISTER = `${COMMON}
local now = nowMs()
local lease = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 10 do
  local conn, key, storeKey = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local d = B .. 'd:' .. key
  local known = redis.call('HGET', B .. 'conn', conn)
  if known and redis.call('EXISTS', B .. 'd:' .. known) == 1 then
    redis.call('ZADD', B .. 'lease', now + lease, conn)
    redis.call('HSET', B .. 'd:' .. known, 'lastSeenAt', now)
  else
    redis.call('HSET', B .. 'conn', conn, key)
    redis.call('ZADD', B .. 'lease', now + lease, conn)
    if redis.call('EXISTS', d) == 0 then
      redis.call('HSET', d, 'tenantId', ARGV[i + 3], 'storeId', ARGV[i + 4], 'userId', ARGV[i + 5],
        'storeKey', storeKey, 'since', now, 'connections', 0, 'announced', 0, 'revision', 0)
      redis.call('SADD', B .. 's:' .. storeKey, key)
    end
    redis.call('HSET', d, 'name', ARGV[i + 6], 'roles', ARGV[i + 7], 'stationIds', ARGV[i + 8], 'lastSeenAt', now)
    redis.call('HINCRBY', d, 'connections', 1)
    redis.call('ZREM', B .. 'grace', key)
    announce(key, now, out, ARGV[i + 9])
  end
end
return out
`;

/** ARGV: connection id, grace ms, its store's presence channel or ''. */
const UNREGISTER = `${COMMON}
local now = nowMs()
local out = {}
drop(ARGV[1], tonumber(ARGV[2]), now, out, ARGV[3])
return out
`;

/** ARGV: limit. */
const SWEEP = `${COMMON}
local now = nowMs()
local limit = tonumber(ARGV[1])
local out = {}
for _, conn in ipairs(redis.call('ZRANGEBYSCORE', B .. 'lease', '-inf', now, 'LIMIT', 0, limit)) do
  drop(conn, 0, now, out)
end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', B .. 'grace', '-inf', now, 'LIMIT', 0, limit)) do
  local c = tonumber(redis.call('HGET', B .. 'd:' .. key, 'connections') or '0')
  if c <= 0 then remove(key, now, out) else redis.call('ZREM', B .. 'grace', key) end
end
return out
`;

/** ARGV: store key. */
const DEVICES = `
local B = KEYS[1]
local out = {}
for _, key in ipairs(redis.call('SMEMBERS', B .. 's:' .. ARGV[1])) do
  local fields = redis.call('HGETALL', B .. 'd:' .. key)
  if #fields > 0 then out[#out + 1] = fields end
end
return out
`;

/** ARGV: station key. Returns { since, now }. */
const MARK_STATION_OFFLINE = `
local B = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSETNX', B .. 'station-offline', ARGV[1], now)
return { redis.call('HGET', B .. 'station-offline', ARGV[1]), tostring(now) }
`;

/** ARGV: name, holder, ttl ms. */
const TAKE_TURN = `
local key = KEYS[1] .. 'turn:' .. ARGV[1]
local holder = redis.call('GET', key)
if holder and holder ~= ARGV[2] then return 0 end
redis.call('SET', key, ARGV[2], 'PX', ARGV[3])
return 1
`;

type RawChange = [string, string, string[], string?];

interface PresenceCommands {
  presenceRegister(base: string, ...args: string[]): Promise<RawChange[]>;
  presenceUnregister(base: string, ...args: string[]): Promise<RawChange[]>;
  presenceSweep(base: string, limit: string): Promise<RawChange[]>;
  presenceDevices(base: string, storeKey: string): Promise<string[][]>;
  presenceMarkStationOffline(base: string, stationKey: string): Promise<[string, string]>;
  presenceTakeTurn(base: string, name: string, holder: string, ttlMs: string): Promise<number>;
}

/**
 * `redis` is a shared connection (the pub/sub's publisher): its keyPrefix applies to KEYS and to plain
 * commands, so everything here lives under REDIS_PREFIX.
 */
export function createRedisPresenceRegistry(options: {
  redis: Redis;
  leaseMs: number;
  /**
   * The store's presence channel (REDIS_PREFIX and topic, as subscribers listen): given, a registration's change
   * is published by its script (one round trip) and comes back marked `published`.
   */
  channelOf?: (tenantId: string, storeId: string) => string;
}): PresenceRegistry {
  const redis = options.redis;
  defineCommands(redis);
  const commands = redis as unknown as PresenceCommands;
  const changesOf = (raw: RawChange[]) => raw.map(toChange);

  return {
    shared: true,
    async register(registrations) {
      const changes: PresenceChange[] = [];
      for (let start = 0; start < registrations.length; start += BATCH) {
        const args = registrations
          .slice(start, start + BATCH)
          .flatMap((registration) => [
            registration.connectionId,
            deviceKeyOf(registration),
            storeKeyOf(registration.tenantId, registration.storeId),
            registration.tenantId,
            registration.storeId,
            registration.userId,
            registration.name,
            JSON.stringify(registration.roles),
            JSON.stringify(registration.stationIds),
            options.channelOf?.(registration.tenantId, registration.storeId) ?? '',
          ]);
        changes.push(...changesOf(await commands.presenceRegister(BASE, String(options.leaseMs), ...args)));
      }
      return changes;
    },
    async unregister(connectionId, graceMs, store) {
      const channel = store ? (options.channelOf?.(store.tenantId, store.storeId) ?? '') : '';
      return changesOf(await commands.presenceUnregister(BASE, connectionId, String(graceMs), channel));
    },
    async sweep() {
      return changesOf(await commands.presenceSweep(BASE, String(SWEEP_LIMIT)));
    },
    async devices(tenantId, storeId) {
      const rows = await commands.presenceDevices(BASE, storeKeyOf(tenantId, storeId));
      return rows.map((fields) => toEntry(fields));
    },
    async markStationOffline(station) {
      const [since, now] = await commands.presenceMarkStationOffline(BASE, stationKeyOf(station));
      return { since: Number(since), now: Number(now) };
    },
    async claimStationAlert(station) {
      return (await redis.sadd(`${BASE}station-alerted`, stationKeyOf(station))) === 1;
    },
    async releaseStationAlert(station) {
      await redis.srem(`${BASE}station-alerted`, stationKeyOf(station));
    },
    async markStationBack(station) {
      const key = stationKeyOf(station);
      await Promise.all([
        redis.hdel(`${BASE}station-offline`, key),
        redis.srem(`${BASE}station-alerted`, key),
      ]);
    },
    async offlineStations() {
      return (await redis.hkeys(`${BASE}station-offline`)).map(stationOfKey);
    },
    async takeTurn(name, holder, ttlMs) {
      return (await commands.presenceTakeTurn(BASE, name, holder, String(ttlMs))) === 1;
    },
    async close() {},
  };
}

const SCRIPTS = {
  presenceRegister: REGISTER,
  presenceUnregister: UNREGISTER,
  presenceSweep: SWEEP,
  presenceDevices: DEVICES,
  presenceMarkStationOffline: MARK_STATION_OFFLINE,
  presenceTakeTurn: TAKE_TURN,
};

/** ioredis sends each script by SHA (EVALSHA), loading it on first use and after a Redis restart. */
function defineCommands(redis: Redis) {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
      redis.defineCommand(name, { numberOfKeys: 1, lua });
    }
  }
}

function toChange([kind, occurredAt, fields, published]: RawChange): PresenceChange {
  const change = {
    kind: kind as PresenceChange['kind'],
    occurredAt: Number(occurredAt),
    device: toEntry(fields),
  };
  return published === '1' ? { ...change, published: true } : change;
}

function toEntry(flat: string[]): DeviceEntry {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  const text = (name: string) => fields.get(name) ?? '';
  const number = (name: string) => Number(fields.get(name) ?? 0);
  return {
    tenantId: text('tenantId'),
    storeId: text('storeId'),
    userId: text('userId'),
    name: text('name'),
    roles: JSON.parse(fields.get('roles') ?? '[]') as Role[],
    stationIds: JSON.parse(fields.get('stationIds') ?? '[]') as string[],
    connections: number('connections'),
    since: number('since'),
    lastSeenAt: number('lastSeenAt'),
    revision: number('revision'),
  };
}
