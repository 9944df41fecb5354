/**
 * How plugins (metrics, limits) learn that a subscription delivered by the fan-out engine has ended. The
 * engine writes its frames straight to the socket, so no per-event iterator wraps such a subscription and
 * envelop's `onEnd` hooks never run for it: the engine calls these listeners instead.
 */
export interface DeliveredSubscription {
  /** Called once when the subscription ends (at once if it already has). */
  onEnd(listener: () => void): void;
}

export const DELIVERED_SUBSCRIPTION = Symbol('fan-out subscription');

/** The engine subscription an operation's context carries, once the engine has taken over its stream. */
export function engineSubscriptionOf(context: unknown): DeliveredSubscription | undefined {
  if (typeof context !== 'object' || context === null) return undefined;
  const subscription = (context as Record<PropertyKey, unknown>)[DELIVERED_SUBSCRIPTION] as
    | (DeliveredSubscription & { readonly attached: boolean })
    | undefined;
  return subscription?.attached ? subscription : undefined;
}
