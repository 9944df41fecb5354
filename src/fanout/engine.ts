import {
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/principal';
import type { Logger } from '../observability/logger';

/**
 * Fan-out engine: removes per-subscriber GraphQL work from event delivery.
 *
 * Each subscriber still gets its own domain stream (replay after its cursor, duplicate suppression and the
 * per-event authorization in the domain's filter: tenant, store, customer ownership...). What the engine
 * removes is executing the selection set and serialising the result for every subscriber: subscribers are
 * grouped by what they asked for and what they may see (document, operation, variables without `after`,
 * scope), the selection set runs ONCE per group and event through yoga's enveloped execute (rootValue = the
 * event, as graphql-js's mapSourceToResponse does), and each subscriber is sent
 * `{"id":<its id>,"type":"next","payload":<shared JSON>}` built by string concatenation on its socket.
 *
 * Integration with graphql-ws: the subscription field's `subscribe` resolver is wrapped once per schema.
 * When the context carries an engine subscriber, the domain stream is handed to the engine and the executor
 * gets an iterable that never yields: graphql-ws still tracks the id, and `complete` or a socket close call
 * its return(), which releases the domain stream and the group membership.
 */

export const FANOUT_SUBSCRIBER = Symbol('fanout subscriber');

export interface FanoutOptions {
  logger: Logger;
  /** Root subscription fields the engine serves (their per-event checks live in the domain stream). */
  fields?: readonly string[];
  /** A socket with more unsent bytes than this is closed with SlowConsumerCloseCode (default 1 MiB). */
  maxBufferedBytes?: number;
}

/** Close code for a subscriber that does not read fast enough: reconnect and resume from the last cursor. */
export const SlowConsumerCloseCode = 4413;

export interface SubscriberInput {
  id: string;
  socket: WebSocket;
  principal: Principal | null;
  args: ExecutionArgs;
  /** The document's text as received (part of the group key). */
  query: string;
}

const PAYLOAD_MEMORY = 64;

export type FanoutEngine = ReturnType<typeof createFanoutEngine>;

export function createFanoutEngine(options: FanoutOptions) {
  const { logger } = options;
  const fields = new Set(options.fields ?? ['orderUpdated']);
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const groups = new Map<string, Group>();

  interface Group {
    key: string;
    members: Set<Subscriber>;
    /** Serialised payloads of the newest events, by cursor (shared by every member). */
    payloads: Map<string, Promise<string>>;
  }

  /** Whether the operation is served by the engine: a subscription selecting only engine fields. */
  function serves(args: ExecutionArgs): boolean {
    const operation = args.document.definitions.find(
      (d) =>
        d.kind === 'OperationDefinition' &&
        (args.operationName == null || d.name?.value === args.operationName),
    );
    if (operation?.kind !== 'OperationDefinition' || operation.operation !== 'subscription') return false;
    return operation.selectionSet.selections.every(
      (selection) => selection.kind === 'Field' && fields.has(selection.name.value),
    );
  }

  /** Marks the operation's context so its subscription is delivered by the engine. */
  function prepare(input: SubscriberInput): void {
    instrument(input.args.schema, fields);
    (input.args.contextValue as Record<PropertyKey, unknown>)[FANOUT_SUBSCRIBER] = new Subscriber(input);
  }

  function join(subscriber: Subscriber): Group {
    let group = groups.get(subscriber.groupKey);
    if (!group) {
      group = { key: subscriber.groupKey, members: new Set(), payloads: new Map() };
      groups.set(group.key, group);
    }
    group.members.add(subscriber);
    return group;
  }

  function leave(subscriber: Subscriber, group: Group) {
    group.members.delete(subscriber);
    if (group.members.size === 0) groups.delete(group.key);
  }

  /**
   * Event errors the resolvers raise on purpose carry an extensions.code and pass; anything else is logged
   * and masked like yoga masks it, so no internal detail reaches a client.
   */
  function masked(result: ExecutionResult): ExecutionResult {
    if (!result.errors) return result;
    return {
      ...result,
      errors: result.errors.map((error) => {
        if (typeof error.extensions?.code === 'string') return error;
        logger.error({ err: error.originalError ?? error }, 'subscription event failed to resolve');
        return new GraphQLError('Unexpected error.', {
          path: error.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      }),
    };
  }

  /**
   * The event's payload for this group, executed and serialised once. graphql-js `execute` runs a
   * subscription operation's root field with the event as source, exactly as mapSourceToResponse does
   * (yoga's enveloped execute would dispatch a subscription document to subscribe instead).
   */
  function payloadOf(group: Group, subscriber: Subscriber, event: unknown): Promise<string> {
    const cursor = (event as { cursor?: unknown }).cursor;
    const memoKey = typeof cursor === 'string' ? cursor : undefined;
    const known = memoKey === undefined ? undefined : group.payloads.get(memoKey);
    if (known) return known;
    const payload = Promise.resolve(execute({ ...subscriber.input.args, rootValue: event })).then((result) =>
      JSON.stringify(masked(result)),
    );
    if (memoKey !== undefined) {
      group.payloads.set(memoKey, payload);
      if (group.payloads.size > PAYLOAD_MEMORY)
        group.payloads.delete(group.payloads.keys().next().value as string);
    }
    return payload;
  }

  class Subscriber {
    readonly groupKey: string;
    private readonly framePrefix: string;
    private source?: AsyncIterator<unknown>;
    private group?: Group;
    private ended = false;
    private endWaiter?: { resolve(r: IteratorResult<never>): void; reject(e: unknown): void };
    private failure?: unknown;

    constructor(readonly input: SubscriberInput) {
      this.groupKey = groupKeyOf(input.query, input.args, input.principal);
      this.framePrefix = `{"id":${JSON.stringify(input.id)},"type":"next","payload":`;
    }

    /** Takes over the domain stream; returns what the executor iterates: nothing until the end. */
    attach(source: AsyncIterable<unknown>): AsyncIterableIterator<never> {
      this.source = source[Symbol.asyncIterator]();
      this.group = join(this);
      void this.pump();
      const silent: AsyncIterableIterator<never> = {
        next: () => {
          if (this.failure !== undefined) return Promise.reject(this.failure);
          if (this.ended) return Promise.resolve({ done: true, value: undefined });
          return new Promise((resolve, reject) => {
            this.endWaiter = { resolve, reject };
          });
        },
        return: async () => {
          await this.release();
          return { done: true, value: undefined };
        },
        throw: async (error) => {
          await this.release();
          throw error;
        },
        [Symbol.asyncIterator]: () => silent,
      };
      return silent;
    }

    private async pump() {
      try {
        for (;;) {
          const result = await this.source!.next();
          if (result.done || this.ended) break;
          const json = await payloadOf(this.group!, this, result.value);
          if (this.ended) break;
          this.send(json);
        }
        await this.finish();
      } catch (error) {
        await this.finish(error);
      }
    }

    private send(json: string) {
      const socket = this.input.socket;
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > maxBufferedBytes) {
        logger.warn({ bufferedAmount: socket.bufferedAmount }, 'closing a slow subscriber connection');
        socket.close(SlowConsumerCloseCode, 'Slow consumer: resume from your last cursor');
        void this.release();
        return;
      }
      socket.send(`${this.framePrefix}${json}}`);
    }

    /** The stream ended (or failed): tell the executor, which tells graphql-ws. */
    private async finish(error?: unknown) {
      if (error !== undefined && !this.ended) this.failure = error;
      await this.release();
      const waiter = this.endWaiter;
      this.endWaiter = undefined;
      if (!waiter) return;
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        waiter.reject(failure);
      } else waiter.resolve({ done: true, value: undefined });
    }

    /** Leaves the group and returns the domain stream (unsubscribing it from pub/sub); idempotent. */
    async release() {
      if (this.ended) return;
      this.ended = true;
      if (this.group) leave(this, this.group);
      const waiter = this.endWaiter;
      this.endWaiter = undefined;
      waiter?.resolve({ done: true, value: undefined });
      try {
        await this.source?.return?.();
      } catch (error) {
        logger.warn({ err: error }, 'releasing a fan-out subscriber failed');
      }
    }
  }

  return {
    serves,
    prepare,
    /** Groups and subscribers currently registered (for metrics and leak tests). */
    stats() {
      let subscribers = 0;
      for (const group of groups.values()) subscribers += group.members.size;
      return { groups: groups.size, subscribers };
    },
  };
}

/** Subscription fields already wrapped: once per field object, whichever engine (schemas may be shared). */
const wrappedFields = new WeakSet<object>();

/** Wraps the subscription fields once, so a subscriber's domain stream is handed to its engine. */
function instrument(schema: GraphQLSchema, fields: ReadonlySet<string>) {
  const subscriptionFields = schema.getSubscriptionType()?.getFields() ?? {};
  for (const name of fields) {
    const field = subscriptionFields[name];
    if (!field?.subscribe || wrappedFields.has(field)) continue;
    wrappedFields.add(field);
    const original = field.subscribe as GraphQLFieldResolver<unknown, Record<PropertyKey, unknown>>;
    field.subscribe = async (root, args, context, info) => {
      const source = await original(root, args, context, info);
      const subscriber = context?.[FANOUT_SUBSCRIBER] as
        | { attach(source: AsyncIterable<unknown>): unknown }
        | undefined;
      if (!subscriber || !isAsyncIterable(source)) return source;
      return subscriber.attach(source);
    };
  }
}

/**
 * What decides the bytes a subscriber receives besides the event: the document, the operation, the
 * variables except `after` (a resume position only), and the caller's scope. Scope is the tenant, the
 * roles and stores, and for customers (who see their own orders only) the user: subscribers whose
 * executions could differ never share a group.
 */
export function groupKeyOf(query: string, args: ExecutionArgs, principal: Principal | null): string {
  const { after: _after, ...variables } = (args.variableValues ?? {}) as Record<string, unknown>;
  return JSON.stringify([query, args.operationName ?? null, sortedEntries(variables), scopeOf(principal)]);
}

function scopeOf(principal: Principal | null): unknown[] {
  if (!principal) return ['anonymous'];
  const customer = principal.roles.includes('CUSTOMER');
  return [
    principal.tenantId,
    [...principal.roles].sort(),
    principal.stores,
    principal.currentStoreId ?? null,
    principal.stations,
    customer ? principal.userId : null,
  ];
}

function sortedEntries(value: Record<string, unknown>): unknown[] {
  return Object.keys(value)
    .sort()
    .map((key) => [key, value[key]]);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
