export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff';
export {
  createExpediterClient,
  type ExpediterClient,
  type ExpediterClientOptions,
  type ForwardedOperation,
  type SubscriptionObserver,
  type TokenContext,
  type TokenProvider,
} from './client';
export { CursorTracker, cursorOf } from './cursor-tracker';
export { ExpediterError, type ExpediterErrorCode, fromGraphQLErrors, toExpediterError } from './errors';
export { type HttpRequestOptions, httpRequest } from './http';
export { isRetryable } from './reconnection';
export type { ResultOf, TypedDocument, VariablesOf } from './typed';
