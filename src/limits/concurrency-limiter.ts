import { redisScript, type SlotTake, type Take, takeInRedis } from './budget-script';
import type { LimiterMode, LimiterRedis } from './limiter-redis';
import { decisionOf, type RateLimitDecision, type RateLimiter, type RateLimitRule } from './rate-limiter';

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
export interface SlotRequest {
  kind: string;
  subject: string;
  holder: string;
  limit: number;
}

/** Calls counted against rate budgets together with slots (src/limits/rate-limiter.ts). */
export interface RateRequest {
  limiter: RateLimiter;
  rules: readonly RateLimitRule[];
  subject: string;
}

export interface TakeOutcome {
  /** Every slot taken and every call counted; else nothing was. */
  allowed: boolean;
  /** In order, up to the first refusal (slots are checked before rates). */
  slots: SlotDecision[];
  /** In order, up to the first refusal; empty when a slot was refused. */
  rates: RateLimitDecision[];
}

export interface ConcurrencyLimiter {
  acquire(kind: string, subject: string, holder: string, limit: number): Promise<SlotDecision>;
  /**
   * Takes every slot and counts every rate call of one operation in one round trip, all or nothing (a
   * connection's slots per address and per user; a subscription's slot and its start).
   */
  acquireAll(slots: readonly SlotRequest[], rates?: RateRequest): Promise<TakeOutcome>;
  release(kind: string, subject: string, holder: string): Promise<void>;
  mode(): LimiterMode;
  /** Stops renewing and gives this instance's slots back (best effort; leases expire anyway). */
  close(): Promise<void>;
}

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

/** KEYS: slot sets; ARGV: one holder per key. */
const RELEASE_SCRIPT = `
for i, key in ipairs(KEYS) do
  redis.call('ZREM', key, ARGV[i])
end
return #KEYS
`;

const RENEW_BATCH = 500;
const renewScript = redisScript(RENEW_SCRIPT);
const releaseScript = redisScript(RELEASE_SCRIPT);

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

  /**
   * Releases not yet sent: every release of one event-loop turn goes in one script (a closing socket frees its
   * subscriptions' slots and its connection's slots per address and per user in one round trip).
   */
  let releasing:
    | { pairs: Array<readonly [string, string]>; sent: () => void; done: Promise<void> }
    | undefined;
  /** Release scripts on their way (a batch of many sockets' slots takes several): close() waits for them. */
  const sending = new Set<Promise<void>>();

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
          (client) => renewScript(client, batchKeys, [leaseMs, ...batchHolders]),
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

  /** RELEASE_SCRIPT over the pairs, RENEW_BATCH at a time (best effort: a lease not released expires anyway). */
  async function releaseInRedis(pairs: ReadonlyArray<readonly [string, string]>) {
    for (let i = 0; i < pairs.length; i += RENEW_BATCH) {
      const batch = pairs.slice(i, i + RENEW_BATCH);
      await redis
        .run(
          (client) =>
            releaseScript(
              client,
              batch.map(([key]) => key),
              batch.map(([, holder]) => holder),
            ),
          () => 0,
        )
        .catch(() => 0);
    }
  }

  /** Queues a release for this turn's script; resolves once Redis has it. */
  function queueRelease(key: string, holder: string): Promise<void> {
    if (!releasing) {
      let sent!: () => void;
      const done = new Promise<void>((resolve) => {
        sent = resolve;
      });
      releasing = { pairs: [], sent, done };
      setImmediate(sendReleases);
    }
    releasing.pairs.push([key, holder]);
    return releasing.done;
  }

  /** Sends the queued releases (at the end of the turn, or now: ahead of a take, which then sees them). */
  function sendReleases() {
    const batch = releasing;
    if (!batch) return;
    releasing = undefined;
    const sent = releaseInRedis(batch.pairs).then(batch.sent);
    sending.add(sent);
    void sent.finally(() => sending.delete(sent));
  }

  /** acquireAll in this instance's memory: its own slots are the count. */
  function takeLocally(slotTakes: readonly SlotTake[], rates: RateRequest | undefined): TakeOutcome {
    const slots: SlotDecision[] = [];
    const pending = new Map<string, number>();
    for (const { key, holder, limit } of slotTakes) {
      const count = held.count(key) + (pending.get(key) ?? 0);
      if (held.has(key, holder)) {
        slots.push({ allowed: true, limit, count });
        continue;
      }
      if (count >= limit) {
        slots.push({ allowed: false, limit, count });
        return { allowed: false, slots, rates: [] };
      }
      pending.set(key, (pending.get(key) ?? 0) + 1);
      slots.push({ allowed: true, limit, count: count + 1 });
    }
    const decisions = rates ? rates.limiter.consumeLocally(rates.rules, rates.subject) : [];
    const allowed = decisions.length === (rates?.rules.length ?? 0) && decisions.every((d) => d.allowed);
    return { allowed, slots, rates: decisions };
  }

  const limiter: ConcurrencyLimiter = {
    mode: () => redis.mode(),
    async acquire(kind, subject, holder, limit) {
      const outcome = await limiter.acquireAll([{ kind, subject, holder, limit }]);
      return outcome.slots[0]!;
    },
    async acquireAll(slots, rates) {
      const slotTakes = slots.map(
        (slot): SlotTake => ({
          kind: 'slot',
          key: keyOf(slot.kind, slot.subject),
          holder: slot.holder,
          limit: slot.limit,
          leaseMs,
        }),
      );
      sendReleases();
      const outcome = await redis.run(
        async (client) => {
          const rateTakes = rates ? rates.rules.map((rule) => rates.limiter.take(rule, rates.subject)) : [];
          const takes: Take[] = [...slotTakes, ...rateTakes];
          const results = await takeInRedis(client, takes);
          const outcome: TakeOutcome = {
            allowed: results.length === takes.length && results.every((result) => result.allowed),
            slots: results.slice(0, slotTakes.length).map((result, i) => ({
              allowed: result.allowed,
              limit: slotTakes[i]!.limit,
              count: result.count,
            })),
            rates: results.slice(slotTakes.length).map((result, i) => decisionOf(rates!.rules[i]!, result)),
          };
          return outcome;
        },
        () => takeLocally(slotTakes, rates),
      );
      if (outcome.allowed) for (const take of slotTakes) held.add(take.key, take.holder);
      return outcome;
    },
    async release(kind, subject, holder) {
      const key = keyOf(kind, subject);
      if (!held.delete(key, holder)) return;
      await queueRelease(key, holder);
    },
    async close() {
      clearInterval(renewal);
      stopModeWatch();
      const slots = held.all();
      held.clear();
      sendReleases();
      // Sockets closed by a shutdown queued their releases just before: they reach Redis before it is closed.
      await Promise.all([...sending, releaseInRedis(slots)]);
    },
  };
  return limiter;
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
