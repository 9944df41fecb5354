import type { ExecutionResult } from 'graphql';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AuthError } from '../auth/errors';
import type { Session } from '../auth/session';
import type { GraphQLContext } from '../schema/context';

/**
 * Ends every subscription with its session, whatever carries it: when the caller's token expires or is revoked,
 * the stream yields one last result, an UNAUTHENTICATED error, and completes (SSE then closes the response).
 * graphql-ws connections also close with 4401 (src/server/graphql-ws.ts), which ends their operations anyway.
 */
export function useSessionEnd(): Plugin<GraphQLContext> {
  return {
    onSubscribe({ args }) {
      const session = (args.contextValue as Partial<GraphQLContext>).session;
      if (!session) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilSessionEnds(result, session));
        },
      };
    },
  };
}

export function sessionEndedError(reason: AuthError): GraphQLError {
  return new GraphQLError(reason.message, { extensions: { code: 'UNAUTHENTICATED', reason: reason.reason } });
}

/**
 * The source's results until the session ends, then `{ errors: [UNAUTHENTICATED] }` and done. The source is
 * returned (its topics released) as soon as the session ends, not when the client next reads.
 */
export function untilSessionEnds<T extends ExecutionResult>(
  source: AsyncIterable<T>,
  session: Session,
): AsyncIterableIterator<T | ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let finalResult: ExecutionResult | undefined;
  let done = false;
  let wake: ((result: IteratorResult<T | ExecutionResult>) => void) | undefined;
  // Listening starts with the first read: a result nobody iterates (the fan-out engine delivers those
  // subscriptions itself) must not stay referenced by the session.
  let stopListening: (() => void) | undefined;

  const finish = () => {
    done = true;
    stopListening?.();
    return iterator.return?.();
  };
  const listen = () =>
    session.onEnd((reason) => {
      if (done) return;
      const result = { errors: [sessionEndedError(reason)] };
      void finish()?.catch(() => {});
      if (wake) {
        wake({ done: false, value: result });
        wake = undefined;
      } else finalResult = result;
    });

  const wrapped: AsyncIterableIterator<T | ExecutionResult> = {
    async next() {
      stopListening ??= listen();
      if (finalResult) {
        const value = finalResult;
        finalResult = undefined;
        return { done: false, value };
      }
      if (done) return { done: true, value: undefined };
      const ended = new Promise<IteratorResult<T | ExecutionResult>>((resolve) => {
        wake = resolve;
      });
      const result = await Promise.race([iterator.next(), ended]);
      wake = undefined;
      if (result.done && !done) {
        done = true;
        stopListening();
      }
      return result;
    },
    async return() {
      if (!done) await finish();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      if (!done) await finish();
      throw error;
    },
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
