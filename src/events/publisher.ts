import type { Tx } from '../db/types';
import type { PubSub } from './pubsub';
import type { NewEvent } from './types';
import type { UnitOfWork } from './unit-of-work';

/**
 * The one way messages leave the domain (docs/architecture.md, "Publishing"), with two verbs:
 *
 * - durable, `run(work)` and its `emit`: the unit of work (src/events/unit-of-work.ts). What `emit` queues is
 *   written to the Event table in the work's transaction, and published on pub/sub after the commit (the outbox,
 *   src/events/outbox.ts): it has a cursor, a replay, and survives a crash between commit and publish. Every
 *   change of data that subscribers follow goes this way.
 * - ephemeral, `broadcast(topic, message)`: pub/sub only, no row, no cursor, no replay, for messages whose loss
 *   a later one repairs: dashboard pushes (the latest metrics), presence changes, session revocation broadcasts
 *   (the revocation itself is stored; the broadcast only closes live sockets sooner). Whoever listens
 *   (`listen`) gets what is broadcast after it listens, so it starts from the current state itself.
 *
 * Topics for both come from `topics` (src/events/topics.ts).
 */
export interface Broadcasts {
  /** Ephemeral verb: hands the message to pub/sub (rejects when pub/sub cannot take it now). */
  broadcast(topic: string, message: unknown): Promise<void>;
  /** The topic's broadcasts from now on; resolves once listening (Redis: SUBSCRIBE acknowledged). */
  listen(topic: string, onMessage: (message: unknown) => void): Promise<() => void>;
  /**
   * Whether any instance listens to the topic now (Redis: PUBSUB NUMSUB of the prefixed channel); true in
   * process, or when Redis cannot answer. Lets a costly broadcast nobody would receive be skipped.
   */
  anyoneListening(topic: string): Promise<boolean>;
  /** Redis only: `listener` fires each time subscriptions are back after an outage (broadcasts were lost). */
  onReconnect?(listener: () => void): () => void;
}

export interface Publisher extends UnitOfWork, Broadcasts {}

/** The ephemeral verb over pub/sub. */
export function broadcastsOver(pubsub: PubSub): Broadcasts {
  const onResubscribe = pubsub.onResubscribe?.bind(pubsub);
  return {
    broadcast: (topic, message) => pubsub.publish(topic, message),
    listen: (topic, onMessage) => pubsub.subscribe(topic, onMessage),
    async anyoneListening(topic) {
      const redis = pubsub.redis?.();
      if (!redis) return true;
      try {
        const channel = (redis.options.keyPrefix ?? '') + topic;
        const [, count] = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
        return Number(count) > 0;
      } catch {
        return true;
      }
    },
    ...(onResubscribe ? { onReconnect: onResubscribe } : {}),
  };
}

/** Both verbs: the unit of work (durable) and broadcasts on the same pub/sub (ephemeral). */
export function createPublisher(uow: UnitOfWork, pubsub: PubSub): Publisher {
  return {
    run: <T>(work: (tx: Tx, emit: (event: NewEvent) => void) => Promise<T>) => uow.run(work),
    runStatement: (work) => uow.runStatement(work),
    read: (text, values) => uow.read(text, values),
    ...broadcastsOver(pubsub),
  };
}
