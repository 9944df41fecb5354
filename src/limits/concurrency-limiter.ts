import type { LimiterMode, LimiterRedis } from './limiter-redis';

export interface SlotDecision {
  allowed: boolean;
  limit: number;
  /** Slots held after this call (including this one when allowed). */
  count: number;
}

/**
 * Counts things that are open at the same time (connections, subscriptions) per subject, across
 * instances. A slot is a lease in a Redis sorted set (score = expiry) that its instance keeps
 * renewing, so the slots of a crashed instance free themselves after `leaseMs`. The instance also
 * remembers its own slots: that is the per-instance count used while Redis is unreachable, and the
 * renewal puts them back into Redis after an outage.
 */
export interface ConcurrencyLimiter {
  acquire(kind: string, subject: string, holder: string, limit: number): Promise<SlotDecision>;
  release(kind: string, subject: string, holder: string): Promise<void>;
  mode(): LimiterMode;
  /** Stops renewing and gives this instance's slots back (best effort; leases expire anyway). */
  close(): Promise<void>;
}

const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {1, count} end
if count >= limit then return {0, count} end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return {1, count + 1}
`;

/** KEYS: slot sets; ARGV[1]: lease ms, then one holder per key. */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return #KEYS
`;

const RENEW_BATCH = 500;

export function createConcurrencyLimiter(options: {
  redis: LimiterRedis;
  keyPrefix: string;
  leaseMs?: number;
}): ConcurrencyLimiter {
  const { redis, keyPrefix } = options;
  const leaseMs = options.leaseMs ?? 30_000;
  /** This instance's slots. */
  const held = new HeldSlots();
  const keyOf = (kind: string, subject: string) => `${keyPrefix}limits:slots:${kind}:${subject}`;

  const renewal = setInterval(() => void renewAll(), Math.max(Math.floor(leaseMs / 3), 50));
  renewal.unref();
  const stopModeWatch = redis.onModeChange((mode) => {
    if (mode === 'redis') void renewAll();
  });

  /**
   * Renews every lease this instance holds, RENEW_BATCH at a time: one script over tens of thousands of
   * leases would hold Redis (single-threaded) for tens of milliseconds, and every connect and subscribe of
   * every instance would wait behind it.
   */
  async function renewAll() {
    let keys: string[] = [];
    let holders: string[] = [];
    const renew = async () => {
      const [batchKeys, batchHolders] = [keys, holders];
      [keys, holders] = [[], []];
      await redis
        .run(
          (client) => client.eval(RENEW_SCRIPT, batchKeys.length, ...batchKeys, leaseMs, ...batchHolders),
          () => 0,
        )
        .catch(() => 0);
    };
    for (const [key, holder] of held.all()) {
      keys.push(key);
      holders.push(holder);
      if (keys.length >= RENEW_BATCH) await renew();
    }
    if (keys.length > 0) await renew();
  }

  return {
    mode: () => redis.mode(),
    async acquire(kind, subject, holder, limit) {
      const key = keyOf(kind, subject);
      const result = await redis.run(
        async (client) => {
          const reply = (await client.eval(ACQUIRE_SCRIPT, 1, key, holder, limit, leaseMs)) as number[];
          return { allowed: reply[0] === 1, limit, count: reply[1] ?? 0 };
        },
        () => {
          const count = held.count(key);
          if (held.has(key, holder)) return { allowed: true, limit, count };
          const allowed = count < limit;
          return { allowed, limit, count: allowed ? count + 1 : count };
        },
      );
      if (result.allowed) held.add(key, holder);
      return result;
    },
    async release(kind, subject, holder) {
      const key = keyOf(kind, subject);
      if (!held.delete(key, holder)) return;
      await redis
        .run(
          (client) => client.zrem(key, holder),
          () => 0,
        )
        .catch(() => 0);
    },
    async close() {
      clearInterval(renewal);
      stopModeWatch();
      const slots = held.all();
      held.clear();
      await redis
        .run(
          (client) => Promise.all(slots.map(([key, holder]) => client.zrem(key, holder))),
          () => [],
        )
        .catch(() => []);
    },
  };
}

/**
 * Holders by slot key. Most keys have one holder (a user's connection, a user's subscription), so a key keeps
 * its holder as a plain string until a second one comes: this map has an entry per connected user.
 */
class HeldSlots {
  private readonly slots = new Map<string, string | Set<string>>();

  add(key: string, holder: string): void {
    const current = this.slots.get(key);
    if (current === undefined) this.slots.set(key, holder);
    else if (typeof current === 'string') {
      if (current !== holder) this.slots.set(key, new Set([current, holder]));
    } else current.add(holder);
  }

  /** False when the key had no such holder. */
  delete(key: string, holder: string): boolean {
    const current = this.slots.get(key);
    if (current === undefined) return false;
    if (typeof current === 'string') {
      if (current !== holder) return false;
      this.slots.delete(key);
      return true;
    }
    if (!current.delete(holder)) return false;
    if (current.size === 1) this.slots.set(key, current.values().next().value as string);
    return true;
  }

  has(key: string, holder: string): boolean {
    const current = this.slots.get(key);
    return typeof current === 'string' ? current === holder : (current?.has(holder) ?? false);
  }

  count(key: string): number {
    const current = this.slots.get(key);
    return current === undefined ? 0 : typeof current === 'string' ? 1 : current.size;
  }

  /** Every (key, holder) pair, as a snapshot. */
  all(): Array<readonly [string, string]> {
    const pairs: Array<readonly [string, string]> = [];
    for (const [key, holders] of this.slots) {
      if (typeof holders === 'string') pairs.push([key, holders]);
      else for (const holder of holders) pairs.push([key, holder]);
    }
    return pairs;
  }

  clear(): void {
    this.slots.clear();
  }
}
