import type { IncomingMessage } from 'node:http';
import {
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  getOperationAST,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/principal';
import { engineRunnerOf, engineSubscriptionOf } from '../fanout/delivered-subscription';
import { newId } from '../observability/ids';
import { clientAddress, isOriginAllowed } from './client-address';
import type { ConcurrencyLimiter } from './concurrency-limiter';
import type { LimitsConfig } from './config';
import {
  type RateLimitFeedback,
  rateLimitedError,
  rateLimitFeedback,
  tooManyOpenError,
  toSeconds,
} from './feedback';
import type { RateLimitDecision, RateLimiter } from './rate-limiter';

export interface RateLimitPluginOptions {
  limits: LimitsConfig;
  allowedOrigins: readonly string[];
  rateLimiter: RateLimiter;
  concurrency: ConcurrencyLimiter;
  /** Called with the budget of every refused operation or request (metrics). */
  onRefusal?: (scope: string) => void;
}

/** What the plugin reads from yoga's context: WebSocket operations carry `socket`, HTTP ones `request`. */
interface LimitedContext {
  principal?: Principal | null;
  req?: IncomingMessage;
  socket?: object;
  request?: Request;
}

/**
 * Per-operation budgets, for HTTP, SSE and WebSocket operations alike (all execute through yoga's
 * envelop): each mutation field per user, subscription starts per user, open subscriptions per
 * connection and per user, and HTTP requests per IP (plus origin and body-size checks).
 */
export function rateLimitPlugin(options: RateLimitPluginOptions): Plugin<Record<string, unknown>> {
  const { limits, rateLimiter, concurrency } = options;
  const refused = (scope: string) => options.onRefusal?.(scope);
  const { rates } = limits;
  const openPerConnection = new WeakMap<object, number>();
  const httpDecisions = new WeakMap<Request, RateLimitDecision>();

  const subjectOf = (context: LimitedContext) =>
    context.principal
      ? `user:${context.principal.tenantId}:${context.principal.userId}`
      : `ip:${clientAddress(context.req, limits.trustProxy)}`;

  /**
   * Counts an open subscription; the returned function gives its slots back (once). Made here, not in the
   * hook: the engine keeps it for the subscription's lifetime, and a closure there would keep the operation.
   */
  function openSubscription(connection: object, subject: string, holder: string): () => void {
    openPerConnection.set(connection, (openPerConnection.get(connection) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      openPerConnection.set(connection, Math.max((openPerConnection.get(connection) ?? 1) - 1, 0));
      void concurrency.release('subscriptions', subject, holder);
    };
  }

  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      if (!isOriginAllowed(request.headers.get('origin'), options.allowedOrigins)) {
        endResponse(errorResponse(fetchAPI, 403, 'FORBIDDEN', 'Origin not allowed'));
        return;
      }
      const bodyProblem = checkBodySize(request, limits.httpMaxBodyBytes);
      if (bodyProblem) {
        endResponse(errorResponse(fetchAPI, bodyProblem.status, 'BAD_REQUEST', bodyProblem.message));
        return;
      }
      const req = (serverContext as { req?: IncomingMessage }).req;
      const rule = { name: 'http', limit: rates.httpRequestsPerIp, windowMs: rates.windowMs };
      const decision = await rateLimiter.consume(rule, clientAddress(req, limits.trustProxy));
      if (!decision.allowed) {
        refused('http');
        const error = rateLimitedError('http requests', decision);
        const response = errorResponse(fetchAPI, 429, 'RATE_LIMITED', error.message, error.extensions);
        response.headers.set('retry-after', String(toSeconds(decision.retryAfterMs)));
        setRateLimitHeaders(response.headers, decision);
        endResponse(response);
        return;
      }
      httpDecisions.set(request, decision);
    },

    onResponse({ request, response }) {
      const decision = httpDecisions.get(request);
      if (decision) setRateLimitHeaders(response.headers, decision);
    },

    async onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const subject = subjectOf(args.contextValue as LimitedContext);
      const calls = rootFieldCalls(args.document, operation.selectionSet).map((field) => ({
        name: `mutation:${field}`,
        limit: rates.mutationOverrides[field] ?? rates.mutationsPerUser,
        windowMs: rates.windowMs,
      }));
      if (calls.length === 0) return;
      // Every call in one round trip, all or nothing: a refused operation counts none of its calls.
      const decisions = await rateLimiter.consumeAll(calls, subject);
      let tightest: { budget: string; decision: RateLimitDecision } | undefined;
      for (const [i, decision] of decisions.entries()) {
        const budget = calls[i]!.name;
        if (!decision.allowed) {
          refused(budget);
          setResultAndStopExecution({
            errors: [rateLimitedError(budget, decision)],
            extensions: { rateLimit: rateLimitFeedback(budget, decision, rates.warnRatio) },
          });
          return;
        }
        if (
          !tightest ||
          decision.remaining / decision.limit < tightest.decision.remaining / tightest.decision.limit
        ) {
          tightest = { budget, decision };
        }
      }
      if (!tightest) return;
      const feedback = rateLimitFeedback(tightest.budget, tightest.decision, rates.warnRatio);
      return {
        onExecuteDone({ result, setResult }) {
          if (isSingleResult(result)) setResult(withRateLimit(result, feedback));
        },
      };
    },

    async onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as LimitedContext;
      const connection = context.socket ?? context.request ?? context;
      const subject = subjectOf(context);

      const open = openPerConnection.get(connection) ?? 0;
      if (open >= limits.subscriptions.maxPerConnection) {
        refused('subscriptions-per-connection');
        setResultAndStopExecution({
          errors: [
            tooManyOpenError('subscriptions on this connection', limits.subscriptions.maxPerConnection),
          ],
        });
        return;
      }
      const holder = newId();
      const rule = { name: 'subscription', limit: rates.subscriptionStartsPerUser, windowMs: rates.windowMs };
      // The open slot and the start in one round trip: neither is taken unless both are allowed.
      const taken = await concurrency.acquireAll(
        [{ kind: 'subscriptions', subject, holder, limit: limits.subscriptions.maxPerUser }],
        { limiter: rateLimiter, rules: [rule], subject },
      );
      if (!taken.slots[0]?.allowed) {
        refused('subscriptions-per-user');
        setResultAndStopExecution({
          errors: [tooManyOpenError('subscriptions for this user', limits.subscriptions.maxPerUser)],
        });
        return;
      }
      const decision = taken.rates[0]!;
      const feedback = rateLimitFeedback('subscription starts', decision, rates.warnRatio);
      if (!decision.allowed) {
        refused('subscription-starts');
        setResultAndStopExecution({
          errors: [rateLimitedError('subscription starts', decision)],
          extensions: { rateLimit: feedback },
        });
        return;
      }

      const release = openSubscription(connection, subject, holder);
      // The engine writes frames itself, possibly before the hooks below run: it is told now.
      engineRunnerOf(args.contextValue)?.addToFirstEvent({ rateLimit: feedback });
      return {
        onSubscribeResult({ result }) {
          if (isSingleResult(result)) {
            // Refused while setting up (e.g. not authorised): it never became an open subscription.
            release();
            return;
          }
          // Delivered by the fan-out engine (shared frames, no per-event hook): the engine reports its end.
          const delivered = engineSubscriptionOf(args.contextValue);
          if (delivered) {
            delivered.onEnd(release);
            return;
          }
          let first = true;
          return {
            onNext({ result: event, setResult: setEvent }) {
              if (!first) return;
              first = false;
              setEvent(withRateLimit(event, feedback));
            },
            onEnd: release,
          };
        },
      };
    },
  };
}

/**
 * The top-level fields an operation executes, one entry per response key (so `a: createOrder`
 * and `b: createOrder` are two calls), through fragments. Each call counts against its budget.
 */
export function rootFieldCalls(document: DocumentNode, selectionSet: SelectionSetNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const calls = new Map<string, string>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (!name.startsWith('__')) calls.set(selection.alias?.value ?? name, name);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, seen);
      } else if (!seen.has(selection.name.value)) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet, new Set(seen).add(selection.name.value));
      }
    }
  };
  visit(selectionSet, new Set());
  return [...calls.values()];
}

function checkBodySize(request: Request, maxBytes: number): { status: number; message: string } | undefined {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return undefined;
  const length = request.headers.get('content-length');
  if (length === null) {
    // A streamed body of unknown size could only be measured by reading it: require the length.
    return request.body ? { status: 411, message: 'Content-Length required' } : undefined;
  }
  if (Number(length) > maxBytes) {
    return { status: 413, message: `Request body exceeds ${maxBytes} bytes` };
  }
  return undefined;
}

function setRateLimitHeaders(headers: Headers, decision: RateLimitDecision) {
  headers.set('ratelimit-limit', String(decision.limit));
  headers.set('ratelimit-remaining', String(decision.remaining));
  headers.set('ratelimit-reset', String(toSeconds(decision.resetAfterMs)));
}

function errorResponse(
  fetchAPI: { Response: typeof Response },
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
): Response {
  return new fetchAPI.Response(
    JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }] }),
    {
      status,
      headers: { 'content-type': 'application/json' },
    },
  );
}

function isSingleResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}

function withRateLimit(result: ExecutionResult, rateLimit: RateLimitFeedback): ExecutionResult {
  return { ...result, extensions: { ...result.extensions, rateLimit } };
}
