import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { type TestServer, useInstances } from '../support/server';

// Seating the next party ends the previous party's guest tokens on every instance of a cluster (two servers
// sharing PostgreSQL and Redis): the revocation broadcast closes their sockets and SSE streams elsewhere too.

const SEAT = `mutation ($tableId: ID!, $partySize: Int!) { seatTable(tableId: $tableId, partySize: $partySize) { id } }`;
const FREE = `mutation ($tableId: ID!) { setTableStatus(tableId: $tableId, status: FREE) { id } }`;
const ISSUE = `mutation ($tableId: ID!) { issueTableToken(tableId: $tableId) { token } }`;
const ORDER_UPDATED = `subscription ($storeId: ID!) { orderUpdated(storeId: $storeId) { cursor order { id } } }`;
const ORDERS = `query { orders(storeId: "acme-downtown", first: 5) { edges { node { id } } } }`;
const TABLE = 'acme-downtown-9';

const [a, b] = useInstances(2) as [TestServer, TestServer];

describe('two instances', () => {
  it('seating the next party on one instance ends the previous guests on the other, on every transport', async () => {
    const staff = await a.token('acme-staff');
    await a.data(SEAT, { tableId: TABLE, partySize: 2 }, { token: staff });
    const { issueTableToken } = await a.data<{ issueTableToken: { token: string } }>(
      ISSUE,
      { tableId: TABLE },
      { token: staff },
    );
    const previous = issueTableToken.token;
    const onB = await b.connect(previous);
    const onA = await a.connect(previous);
    await onB.live(ORDER_UPDATED, { storeId: 'acme-downtown' });
    await onA.live(ORDER_UPDATED, { storeId: 'acme-downtown' });
    const sseOnB = await b.sse(previous).live(ORDER_UPDATED, { storeId: 'acme-downtown' });
    expect((await b.gql(ORDERS, {}, { token: previous })).errors).toBeUndefined();

    await a.data(FREE, { tableId: TABLE }, { token: staff });
    // Tokens carry whole seconds: the next party sits down in a later second than the token was issued.
    const issuedAt = decodeJwt(previous).iat as number;
    await eventually(() => Math.floor(Date.now() / 1000) > issuedAt, 5_000);
    await a.data(SEAT, { tableId: TABLE, partySize: 3 }, { token: staff });

    expect((await onB.closed).code).toBe(4401);
    expect((await onA.closed).code).toBe(4401);
    let last = await sseOnB.next();
    while (last.data) last = await sseOnB.next();
    expect(last.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    for (const instance of [a, b]) {
      const refused = await instance.gql(ORDERS, {}, { token: previous });
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      await expect(instance.connect(previous)).rejects.toMatchObject({ code: 4401 });
    }
  });
});
