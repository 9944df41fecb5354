import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A slot (src/limits/concurrency-limiter.ts): a lease in the key's sorted set, scored by its expiry. */
export interface SlotTake {
  kind: 'slot';
  key: string;
  holder: string;
  limit: number;
  leaseMs: number;
}

/** A call counted in a sliding window (src/limits/rate-limiter.ts): a member scored by when it was made. */
export interface RateTake {
  kind: 'rate';
  key: string;
  member: string;
  limit: number;
  windowMs: number;
}

export type Take = SlotTake | RateTake;

export interface TakeResult {
  allowed: boolean;
  /** Slots held or calls counted after this take (this one included when allowed). */
  count: number;
  /** A refused rate: until its oldest counted call leaves the window. */
  oldestLeavesMs: number;
  /** A rate: until its newest counted call leaves the window (the whole budget is back). */
  newestLeavesMs: number;
}

/**
 * Every budget of one operation in one round trip, all or nothing: the takes are checked in order on Redis's
 * clock, the first refusal ends the check and nothing is written; when every take is allowed, each is written
 * (a slot's lease, a rate's call). Takes of one key count together (two aliases of a mutation are two calls of
 * its budget). A slot its holder already has is allowed again (renewed). Returns one entry
 * per take checked: {allowed, count, oldestLeaves, newestLeaves}.
 * ARGV: 4 per key: kind ('s' or 'r'), limit, lease or window (ms), holder or member.
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local pending = {}
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 4
  local limit = tonumber(ARGV[base + 2])
  local span = tonumber(ARGV[base + 3])
  local taken = pending[key] or 0
  if ARGV[base + 1] == 's' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local count = redis.call('ZCARD', key) + taken
    if redis.call('ZSCORE', key, ARGV[base + 4]) then
      out[i] = {1, count, 0, 0}
    elseif count >= limit then
      out[i] = {0, count, 0, 0}
      return out
    else
      pending[key] = taken + 1
      out[i] = {1, count + 1, 0, 0}
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
    local count = redis.call('ZCARD', key) + taken
    if count >= limit then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      -- Refused only by calls of this same operation: they would have been counted now.
      local oldestLeaves = span
      local newestLeaves = span
      if oldest[2] then oldestLeaves = tonumber(oldest[2]) + span - now end
      if newest[2] and taken == 0 then newestLeaves = tonumber(newest[2]) + span - now end
      out[i] = {0, count, oldestLeaves, newestLeaves}
      return out
    end
    pending[key] = taken + 1
    out[i] = {1, count + 1, 0, span}
  end
end
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 4
  local span = tonumber(ARGV[base + 3])
  if ARGV[base + 1] == 's' then
    redis.call('ZADD', key, now + span, ARGV[base + 4])
  else
    redis.call('ZADD', key, now, ARGV[base + 4])
  end
  redis.call('PEXPIRE', key, span)
end
return out
`;

/** A script run by its SHA1 (EVALSHA: a few bytes on the wire, nothing for Redis to hash), loaded on NOSCRIPT. */
export function redisScript(lua: string) {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> => {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return await client.eval(lua, keys.length, ...keys, ...args);
    }
  };
}

const takeScript = redisScript(TAKE_SCRIPT);

/** Runs TAKE_SCRIPT: one result per take checked, the last one the refusal if there is one. */
export async function takeInRedis(client: Redis, takes: readonly Take[]): Promise<TakeResult[]> {
  const args: Array<string | number> = [];
  for (const take of takes) {
    if (take.kind === 'slot') args.push('s', take.limit, take.leaseMs, take.holder);
    else args.push('r', take.limit, take.windowMs, take.member);
  }
  const reply = (await takeScript(
    client,
    takes.map((take) => take.key),
    args,
  )) as Array<[number, number, number, number]>;
  return reply.map(([allowed, count, oldestLeavesMs, newestLeavesMs]) => ({
    allowed: allowed === 1,
    count,
    oldestLeavesMs,
    newestLeavesMs,
  }));
}
