import { describe, expect, it } from 'vitest';
import {
  codeOf,
  collect,
  connect,
  crafted,
  createOrder,
  describeCollectedErrors,
  type Event,
  type GqlError,
  globex,
  type Outcome,
  orderOf,
  S,
  type Sub,
  uptown,
  useIsolationServer,
} from './support';

/**
 * Tenant and store isolation over Server-Sent Events (yoga's text/event-stream on /graphql, one request per
 * subscription): refused exactly as over graphql-ws, and silent while another tenant is busy.
 */

const { app, tokens } = useIsolationServer();

/** The first result of an SSE subscription: its data or its errors. */
async function firstOutcome(sub: Sub): Promise<Outcome> {
  try {
    return collect(await sub.next());
  } catch (error) {
    const errors = Array.isArray(error) ? (error as GqlError[]) : (error as { errors?: GqlError[] }).errors;
    if (errors) return collect({ errors });
    throw error;
  } finally {
    await sub.close();
  }
}

describe('subscriptions over SSE', () => {
  it('refuses foreign stores, stations and cursors exactly as over WebSocket', async () => {
    // A cursor of globex's order stream, as a globex subscriber received it.
    const globexOrders = await (await connect(tokens['globex-admin']!)).live(S.orderUpdated, {
      id: globex.store,
    });
    await createOrder(tokens['globex-staff']!, globex.store, ['globex-central-fries']);
    const globexCursor = ((await globexOrders.next()).data!.orderUpdated as Event).cursor as string;

    const craftedAdmin = await crafted({
      sub: 'acme-admin',
      tid: 'acme',
      roles: ['ADMIN'],
      stores: ['globex-central'],
    });
    const sse = (token: string) => app.sse(token);
    const outcomes = [
      await firstOutcome(sse(tokens['acme-admin']!).subscribe(S.orderUpdated, { id: globex.store })),
      await firstOutcome(sse(craftedAdmin).subscribe(S.orderUpdated, { id: globex.store })),
      await firstOutcome(sse(tokens['acme-admin']!).subscribe(S.kdsTicket, { id: globex.grill })),
      await firstOutcome(sse(tokens['acme-admin']!).subscribe(S.inventoryAlert, { id: globex.store })),
      await firstOutcome(sse(tokens['acme-admin']!).subscribe(S.dashboardMetrics, { id: globex.store })),
      await firstOutcome(sse(tokens['acme-staff']!).subscribe(S.orderUpdated, { id: uptown.store })),
      await firstOutcome(
        sse(tokens['acme-admin']!).subscribe(S.orderUpdated, { id: 'acme-downtown', after: globexCursor }),
      ),
    ];
    for (const outcome of outcomes) {
      expect(['FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT'], JSON.stringify(outcome)).toContain(
        codeOf(outcome),
      );
      expect(outcome.data ?? null).toBeNull();
      expect(JSON.stringify(outcome.errors)).not.toMatch(/Globex|classified|Burger|Lemonade/);
    }
  });

  it('delivers none of globex to an acme SSE subscriber', async () => {
    const acme = await app.sse(tokens['acme-admin']!).live(S.orderUpdated, { id: 'acme-downtown' });
    await createOrder(tokens['globex-staff']!, globex.store, ['globex-central-fries']);
    // The first event is acme's order, placed after globex's.
    const canary = await createOrder(tokens['acme-staff']!, 'acme-downtown', ['acme-downtown-fries']);
    expect(orderOf((await acme.next()).data!.orderUpdated as Event).id).toBe(canary.id);
    await acme.close();
  });
});

describeCollectedErrors(5);
