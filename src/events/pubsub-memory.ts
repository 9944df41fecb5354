import type { Logger } from '../observability/logger';
import { asJsonValue, deliverSafely, type PubSub } from './pubsub';

/** In-process pub/sub for single-instance mode: same JSON semantics and ordering as the Redis one. */
export function createMemoryPubSub(opts: { logger: Logger }): PubSub {
  const handlersByTopic = new Map<string, Set<(message: unknown) => void>>();
  let closed = false;

  function deliver(topic: string, message: unknown) {
    // Looked up at delivery, like Redis: a handler removed after publish() receives nothing.
    for (const handler of handlersByTopic.get(topic) ?? [])
      deliverSafely(opts.logger, topic, handler, message);
  }

  return {
    async publish(topic, message) {
      if (closed) throw new Error('PubSub is closed');
      const json = asJsonValue(message);
      // Asynchronous like a real transport (no re-entrancy into the publisher); microtasks keep order.
      queueMicrotask(() => deliver(topic, json));
    },
    async subscribe(topic, onMessage) {
      if (closed) throw new Error('PubSub is closed');
      const handler = (message: unknown) => onMessage(message);
      let handlers = handlersByTopic.get(topic);
      if (!handlers) {
        handlers = new Set();
        handlersByTopic.set(topic, handlers);
      }
      handlers.add(handler);
      return () => {
        const current = handlersByTopic.get(topic);
        if (!current?.delete(handler)) return;
        if (current.size === 0) handlersByTopic.delete(topic);
      };
    },
    status: () => 'up',
    canPublish: () => !closed,
    async close() {
      closed = true;
      handlersByTopic.clear();
    },
    stats() {
      let handlers = 0;
      for (const set of handlersByTopic.values()) handlers += set.size;
      return { topics: handlersByTopic.size, handlers };
    },
  };
}
