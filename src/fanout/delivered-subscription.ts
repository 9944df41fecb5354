/**
 * How plugins (metrics, limits) learn that a subscription delivered by the fan-out engine has ended. The
 * engine writes its frames straight to the socket, so no per-event iterator wraps such a subscription and
 * envelop's `onEnd` hooks never run for it: the engine calls these listeners instead.
 */
export abstract class DeliveredSubscription {
  /** Called once when the subscription ends (at once if it already has). */
  abstract onEnd(listener: () => void): void;
  /** Whether the engine took over the operation's stream (its resolver ran a plan through it). */
  abstract get attached(): boolean;
  /**
   * Extensions this subscriber's first event carries, its own beside the group's shared payload (the rate
   * limit feedback of its start). Set before the operation runs; the first frame is made for it alone.
   */
  abstract addToFirstEvent(extensions: Record<string, unknown>): void;
}

/** The engine subscription an operation's context carries, whether or not its resolver has run a plan yet. */
export function engineRunnerOf(context: unknown): DeliveredSubscription | undefined {
  if (typeof context !== 'object' || context === null || !('subscriptions' in context)) return undefined;
  return context.subscriptions instanceof DeliveredSubscription ? context.subscriptions : undefined;
}

/**
 * The engine subscription an operation's context carries as its subscription runner (`subscriptions`, see
 * src/schema/context.ts), once the engine has taken over its stream.
 */
export function engineSubscriptionOf(context: unknown): DeliveredSubscription | undefined {
  const runner = engineRunnerOf(context);
  return runner?.attached ? runner : undefined;
}
