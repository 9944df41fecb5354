import { randomUUID } from 'node:crypto';
import type { PubSub } from '../../src/events/pubsub';
import type { EventEnvelope } from '../../src/events/types';
import { createLogger } from '../../src/observability/logger';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const silentLogger = createLogger('silent');

/** A channel/key prefix of its own, so tests sharing one Redis never see each other's messages. */
export const uniquePrefix = () => `test:${randomUUID()}:`;

export interface RecordingPubSub extends PubSub {
  published: EventEnvelope[];
  /** While true, publish rejects as it does when Redis is unreachable. */
  failing: boolean;
}

/** Wraps a real PubSub to record what was published and to simulate an outage (a crash before publish). */
export function recording(inner: PubSub): RecordingPubSub {
  const wrapper: RecordingPubSub = {
    published: [],
    failing: false,
    async publish(topic, message) {
      if (wrapper.failing) throw new Error('simulated pub/sub outage');
      await inner.publish(topic, message);
      wrapper.published.push(message as EventEnvelope);
    },
    subscribe: (topic, onMessage) => inner.subscribe(topic, onMessage),
    status: () => inner.status(),
    canPublish: () => !wrapper.failing && inner.canPublish(),
    close: () => inner.close(),
    stats: () => inner.stats?.() ?? { topics: 0, handlers: 0 },
  };
  return wrapper;
}
