import { createClient as createSseClient } from 'graphql-sse';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens';
import { createOrder } from '../ops/support';
import { eventually } from '../support/eventually';
import { databaseFingerprint } from '../support/fingerprint';
import { startNetworkProxy } from '../support/network';
import {
  connectClient,
  type Subscription,
  startTestServer,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  type TestServer,
  tokensFor,
  uniqueRedisPrefix,
  useInstances,
  type WsClient,
} from '../support/server';
import { clusterMemberEnv, startServerProcess } from '../support/server-process';

/**
 * Device presence over real sockets, on two instances sharing Redis (plus a third, a child process killed with
 * SIGKILL), and on one instance without Redis. Windows are small here and every wait is for an event or a
 * state; where a window is the rule, the test checks the event came after its lower bound and within a
 * generous upper one.
 */

const DEVICE = 'storeId userId name roles stationIds connections since lastSeenAt';
const PRESENCE = `query ($storeId: ID) { presence(storeId: $storeId) { ${DEVICE} } }`;
const PRESENCE_CHANGED = `subscription ($storeId: ID!) {
  presenceChanged(storeId: $storeId) { kind storeId occurredAt device { ${DEVICE} } }
}`;
const STATIONS = `query { store(id: "acme-downtown") { stations { id online } } }`;
const NOTIFICATIONS = `subscription { notifications { notification { kind title body data targetRole targetStoreId } } }`;

type Device = {
  storeId: string;
  userId: string;
  name: string;
  roles: string[];
  stationIds: string[];
  connections: number;
  since: string;
  lastSeenAt: string;
};
type PresenceEvent = { kind: 'ONLINE' | 'OFFLINE'; storeId: string; occurredAt: string; device: Device };
type Changes = Subscription<{ presenceChanged: PresenceEvent }>;
type GqlError = { message: string; extensions?: Record<string, unknown> };

const GRACE_MS = 3000;
const KEEPALIVE_MS = 1000;
/** Long enough that a test process on a loaded machine still answers pings: only the silenced line goes quiet. */
const PONG_TIMEOUT_MS = 3000;
const CHILD_LEASE_MS = 1500;
/** Added to every upper bound: a loaded two-core machine is slow, not wrong. */
const SLACK_MS = 8000;

const ENV = {
  PRESENCE_GRACE_MS: String(GRACE_MS),
  WS_KEEPALIVE_MS: String(KEEPALIVE_MS),
  WS_PONG_TIMEOUT_MS: String(PONG_TIMEOUT_MS),
  STATION_OFFLINE_ALERT_SECONDS: '1',
  RATE_LIMIT_SUBSCRIPTIONS: '10000',
  RATE_LIMIT_HTTP_PER_IP: '100000',
  WS_MAX_CONNECTIONS_PER_USER: '50',
};

const USERS = ['acme-admin', 'acme-manager', 'acme-staff', 'acme-kitchen', 'acme-customer', 'globex-manager'];

/** "ONLINE acme-kitchen 2": what a subscriber learned, readable when a test fails. */
const brief = (event: PresenceEvent) => `${event.kind} ${event.device.userId} ${event.device.connections}`;

async function nextChange(changes: Changes, timeoutMs = 10_000): Promise<PresenceEvent> {
  const result = await changes.next(timeoutMs);
  expect(result.errors).toBeUndefined();
  return result.data!.presenceChanged;
}

/** What a subscription's first result says: its error codes, or [] when it delivered data. */
async function firstErrorCodes(changes: Subscription): Promise<unknown[]> {
  try {
    const result = await changes.next();
    return (result.errors ?? []).map((error) => error.extensions?.code);
  } catch (error) {
    const errors = (error as { errors?: GqlError[] }).errors ?? [];
    return errors.map((e) => e.extensions?.code);
  }
}

function presenceOf(app: TestServer) {
  return async (storeId: string | null, token: string) => {
    const result = await app.gql<{ presence: Device[] }>(PRESENCE, { storeId }, { token });
    expect(result.errors).toBeUndefined();
    return result.data!.presence;
  };
}

async function presenceErrorCode(app: TestServer, storeId: string | null, token: string) {
  const result = await app.gql(PRESENCE, { storeId }, { token });
  return result.errors?.[0]?.extensions?.code;
}

/** Every connection a test opens, closed after it (also when it failed half-way, so the next starts clean). */
const opened: WsClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => client.dispose().catch(() => {})));
});

async function open(app: TestServer, ...args: Parameters<TestServer['connect']>): Promise<WsClient> {
  const client = await app.connect(...args);
  opened.push(client);
  return client;
}

/** A device connecting through a given address (a proxy standing for its network). */
async function openVia(wsUrl: string, token: string): Promise<WsClient> {
  const client = await connectClient(wsUrl, { authorization: `Bearer ${token}` });
  opened.push(client);
  return client;
}

/** A manager watching acme-downtown (not a device itself: its token has every store and it names none). */
async function watch(app: TestServer, token: string): Promise<Changes> {
  const present = await presenceOf(app)('acme-downtown', token);
  const client = await open(app, token);
  const changes = client.subscribe<{ presenceChanged: PresenceEvent }>(PRESENCE_CHANGED, {
    storeId: 'acme-downtown',
  });
  // The current state comes first: one ONLINE per device present now.
  const initial = [];
  for (const _ of present) initial.push(brief(await nextChange(changes)));
  expect(initial.sort()).toEqual(present.map((d) => `ONLINE ${d.userId} ${d.connections}`).sort());
  return changes;
}

/** Generous: the windows add up, and a loaded two-core machine is slow (a timed-out test would leave devices behind). */
const TEST_TIMEOUT = { timeout: 90_000 };

describe('presence across two instances sharing Redis', TEST_TIMEOUT, () => {
  const redisPrefix = uniqueRedisPrefix();
  const [a, b] = useInstances(2, { redisPrefix, env: ENV }) as [TestServer, TestServer];
  let tokens: Record<string, string>;

  beforeAll(async () => {
    tokens = await tokensFor(a, USERS);
  });

  const managerView = (app: TestServer = a) => presenceOf(app)('acme-downtown', tokens['acme-manager']!);
  const deviceOf = async (userId: string) => (await managerView()).find((d) => d.userId === userId);

  async function stationsOnline(app: TestServer, token = tokens['acme-manager']!) {
    const result = await app.gql<{ store: { stations: Array<{ id: string; online: boolean }> } }>(
      STATIONS,
      {},
      { token },
    );
    expect(result.errors).toBeUndefined();
    return Object.fromEntries(result.data!.store.stations.map((s) => [s.id, s.online]));
  }

  /** Every test leaves acme-downtown without devices (grace periods included). */
  async function storeEmptied() {
    await eventually(async () => (await managerView()).length === 0, GRACE_MS + SLACK_MS);
  }
  beforeEach(storeEmptied); // also after a test that failed half-way

  it('keeps one entry per user and store across sockets and instances; a clean close is OFFLINE at once', async () => {
    const changes = await watch(a, tokens['acme-manager']!);
    const first = await open(b, tokens['acme-kitchen']); // its token names one store: acme-downtown
    expect(await nextChange(changes)).toMatchObject({
      kind: 'ONLINE',
      storeId: 'acme-downtown',
      device: {
        storeId: 'acme-downtown',
        userId: 'acme-kitchen',
        name: 'Acme Burgers Kitchen',
        roles: ['KITCHEN'],
        stationIds: ['acme-downtown-grill'],
        connections: 1,
      },
    });
    const second = await open(a, tokens['acme-kitchen']);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-kitchen 2');
    expect(await managerView(b)).toMatchObject([{ userId: 'acme-kitchen', connections: 2 }]);
    expect(await stationsOnline(b)).toMatchObject({
      'acme-downtown-grill': true,
      'acme-downtown-bar': false,
    });

    await first.dispose(); // closes with 1000
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-kitchen 1');

    // A staff tablet whose connection is reset: it stays listed, with no connection, for the grace period.
    const proxy = await startNetworkProxy(b.server.port);
    await openVia(proxy.wsUrl, tokens['acme-staff']!);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-staff 1');
    const cutAt = Date.now();
    proxy.cut();
    await eventually(async () => (await deviceOf('acme-staff'))?.connections === 0);

    // The kitchen closes its last socket cleanly: OFFLINE comes before the tablet's, which waits for its grace.
    await second.dispose();
    expect(brief(await nextChange(changes))).toBe('OFFLINE acme-kitchen 0');
    expect(await stationsOnline(a)).toMatchObject({ 'acme-downtown-grill': false });
    expect(brief(await nextChange(changes, GRACE_MS + SLACK_MS))).toBe('OFFLINE acme-staff 0');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(GRACE_MS);
    await proxy.close();
    await changes.close();
    await storeEmptied();
  });

  it('shows no OFFLINE/ONLINE flicker when a device reconnects, on another instance, within the grace period', async () => {
    const changes = await watch(a, tokens['acme-manager']!);
    const kitchenLine = await startNetworkProxy(a.server.port);
    const staffLine = await startNetworkProxy(a.server.port);
    await openVia(kitchenLine.wsUrl, tokens['acme-kitchen']!);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-kitchen 1');
    await openVia(staffLine.wsUrl, tokens['acme-staff']!);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-staff 1');

    kitchenLine.cut();
    await eventually(async () => (await deviceOf('acme-kitchen'))?.connections === 0);
    const back = await open(b, tokens['acme-kitchen']);
    await eventually(async () => (await deviceOf('acme-kitchen'))?.connections === 1);
    // The staff tablet drops later and does not come back: its grace ends after the kitchen's would have.
    staffLine.cut();

    expect(brief(await nextChange(changes, GRACE_MS + SLACK_MS))).toBe('OFFLINE acme-staff 0');
    expect(await deviceOf('acme-kitchen')).toMatchObject({ connections: 1 });
    await back.dispose();
    expect(brief(await nextChange(changes))).toBe('OFFLINE acme-kitchen 0');
    await Promise.all([kitchenLine.close(), staffLine.close()]);
    await changes.close();
    await storeEmptied();
  });

  it('takes a device whose network died OFFLINE within heartbeat + grace', async () => {
    const changes = await watch(a, tokens['acme-manager']!);
    const line = await startNetworkProxy(b.server.port);
    await openVia(line.wsUrl, tokens['acme-kitchen']!);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-kitchen 1');

    const diedAt = Date.now();
    line.blackhole(); // no close frame, no reset: only the server's ping finds out
    const window = KEEPALIVE_MS + PONG_TIMEOUT_MS + GRACE_MS;
    expect(brief(await nextChange(changes, window + SLACK_MS))).toBe('OFFLINE acme-kitchen 0');
    const tookMs = Date.now() - diedAt;
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS);
    expect(tookMs).toBeLessThanOrEqual(window + SLACK_MS);
    await line.close();
    await changes.close();
    await storeEmptied();
  });

  it('takes the devices of a SIGKILLed instance OFFLINE within its lease', async () => {
    const child = await startServerProcess({
      ...clusterMemberEnv(a.databaseUrl, redisPrefix),
      ...ENV,
      PRESENCE_LEASE_MS: String(CHILD_LEASE_MS),
    });
    try {
      const changes = await watch(a, tokens['acme-manager']!);
      await openVia(child.wsUrl, tokens['acme-kitchen']!);
      expect(brief(await nextChange(changes, 20_000))).toBe('ONLINE acme-kitchen 1');

      const killedAt = Date.now();
      child.child.kill('SIGKILL');
      await child.exited;
      // Renewed every third of the lease, so the lease still has at least two thirds to run when it dies.
      expect(brief(await nextChange(changes, CHILD_LEASE_MS + SLACK_MS))).toBe('OFFLINE acme-kitchen 0');
      const tookMs = Date.now() - killedAt;
      expect(tookMs).toBeGreaterThanOrEqual(CHILD_LEASE_MS / 3);
      expect(tookMs).toBeLessThanOrEqual(CHILD_LEASE_MS + 1000 + SLACK_MS);
      await changes.close();
      await storeEmptied();
    } finally {
      if (child.child.exitCode === null) child.child.kill('SIGKILL');
    }
  }, 90_000);

  it('lets managers and admins see every device, staff the staff and kitchen devices, customers and table guests nothing, on HTTP, WebSocket and SSE', async () => {
    const secondKitchen = await signToken(
      {
        sub: 'acme-kitchen-2',
        tid: 'acme',
        roles: ['KITCHEN'],
        stores: ['acme-downtown'],
        stations: ['acme-downtown-bar'],
      },
      { secret: TEST_JWT_SECRET },
    );
    // A table guest's phone (a CUSTOMER of one table) connects first: it never appears either.
    const seated = await a.gql(
      'mutation { seatTable(tableId: "acme-downtown-4", partySize: 2) { status } }',
      {},
      { token: tokens['acme-staff'] },
    );
    expect(seated.errors).toBeUndefined();
    const issued = await a.gql<{ issueTableToken: { token: string } }>(
      'mutation { issueTableToken(tableId: "acme-downtown-4") { token } }',
      {},
      { token: tokens['acme-staff'] },
    );
    const guest = issued.data!.issueTableToken.token;
    const guestPhone = await open(b, guest);
    const devices = await Promise.all([
      open(a, tokens['acme-staff']),
      open(b, tokens['acme-kitchen']),
      open(b, tokens['acme-admin'], { storeId: 'acme-downtown' }),
      open(a, tokens['acme-manager'], { storeId: 'acme-downtown' }),
      open(a, tokens['acme-customer'], { storeId: 'acme-downtown' }),
    ]);
    await eventually(async () => (await managerView()).length === 4);

    const users = (list: Device[]) => list.map((d) => d.userId).sort();
    const everyone = ['acme-admin', 'acme-kitchen', 'acme-manager', 'acme-staff'];
    expect(users(await managerView())).toEqual(everyone);
    expect(users(await presenceOf(b)('acme-downtown', tokens['acme-admin']!))).toEqual(everyone);
    expect(users(await presenceOf(b)('acme-downtown', tokens['acme-staff']!))).toEqual([
      'acme-kitchen',
      'acme-staff',
    ]);
    expect(users(await presenceOf(b)(null, tokens['acme-staff']!))).toEqual(['acme-kitchen', 'acme-staff']);
    expect(await presenceErrorCode(a, 'acme-downtown', tokens['acme-kitchen']!)).toBe('FORBIDDEN');
    expect(await presenceErrorCode(a, 'acme-downtown', tokens['acme-customer']!)).toBe('FORBIDDEN');
    expect(await presenceErrorCode(a, 'acme-downtown', guest)).toBe('FORBIDDEN');
    expect(await presenceErrorCode(a, 'acme-uptown', tokens['acme-staff']!)).toBe('FORBIDDEN');
    expect(await presenceErrorCode(a, 'acme-downtown', tokens['globex-manager']!)).toBe('NOT_FOUND');
    expect(await presenceOf(a)(null, tokens['globex-manager']!)).toEqual([]);

    // Station.online: kitchen devices may read it, customers may not.
    expect(await stationsOnline(a, tokens['acme-kitchen'])).toMatchObject({ 'acme-downtown-grill': true });
    for (const token of [tokens['acme-customer'], guest]) {
      const customerStations = await a.gql(STATIONS, {}, { token });
      expect(customerStations.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }

    // WebSocket: staff hear of the second kitchen device, and not of the admin's second socket before it.
    const staffClient = await open(a, tokens['acme-staff']);
    devices.push(staffClient);
    await eventually(async () => (await deviceOf('acme-staff'))?.connections === 2);
    const staffChanges = staffClient.subscribe<{ presenceChanged: PresenceEvent }>(PRESENCE_CHANGED, {
      storeId: 'acme-downtown',
    });
    const initial = [brief(await nextChange(staffChanges)), brief(await nextChange(staffChanges))];
    expect(initial.sort()).toEqual(['ONLINE acme-kitchen 1', 'ONLINE acme-staff 2']);
    devices.push(await open(b, tokens['acme-admin'], { storeId: 'acme-downtown' }));
    await eventually(async () => (await deviceOf('acme-admin'))?.connections === 2);
    devices.push(await open(b, secondKitchen));
    expect(brief(await nextChange(staffChanges))).toBe('ONLINE acme-kitchen-2 1');
    expect(await stationsOnline(a)).toMatchObject({ 'acme-downtown-bar': true });

    const refusals = await Promise.all(
      [
        [a, 'acme-customer'],
        [b, 'globex-manager'],
        [b, 'acme-kitchen'],
      ].map(async ([app, user]) => {
        const client = await open(app as TestServer, tokens[user as string]);
        devices.push(client);
        return firstErrorCodes(client.subscribe(PRESENCE_CHANGED, { storeId: 'acme-downtown' }));
      }),
    );
    expect(refusals).toEqual([['FORBIDDEN'], ['NOT_FOUND'], ['FORBIDDEN']]);
    expect(
      await firstErrorCodes(guestPhone.subscribe(PRESENCE_CHANGED, { storeId: 'acme-downtown' })),
    ).toEqual(['FORBIDDEN']);

    // SSE: the same rules; a stream starts with the current state.
    expect(await sseFirst(a, tokens['acme-customer']!)).toEqual({ errors: ['FORBIDDEN'] });
    expect(await sseFirst(a, guest)).toEqual({ errors: ['FORBIDDEN'] });
    expect(await sseFirst(b, tokens['globex-manager']!)).toEqual({ errors: ['NOT_FOUND'] });
    const viaSse = await sseFirst(a, tokens['acme-staff']!);
    expect(['acme-kitchen', 'acme-kitchen-2', 'acme-staff']).toContain(viaSse.userId);

    // Long after the guest's phone connected, nobody lists it (and its socket is still open).
    expect(users(await managerView())).toEqual([
      'acme-admin',
      'acme-kitchen',
      'acme-kitchen-2',
      'acme-manager',
      'acme-staff',
    ]);
    expect((await guestPhone.subscribe('{ store(id: "acme-downtown") { id } }').next()).data).toEqual({
      store: { id: 'acme-downtown' },
    });

    await Promise.all(devices.map((device: WsClient) => device.dispose()));
    await storeEmptied();
  });

  it('is state, not history: connecting writes no row to PostgreSQL, and a new subscriber gets the current state, not past changes', async () => {
    const before = await databaseFingerprint(a.server.db);
    const staff = await open(a, tokens['acme-staff']);
    for (const app of [a, b, a]) {
      const kitchen = await open(app, tokens['acme-kitchen']);
      await eventually(async () => (await deviceOf('acme-kitchen'))?.connections === 1);
      await kitchen.dispose();
      await eventually(async () => (await deviceOf('acme-kitchen')) === undefined);
    }
    expect(await databaseFingerprint(a.server.db)).toEqual(before);

    const client = await open(b, tokens['acme-manager']);
    const changes = client.subscribe<{ presenceChanged: PresenceEvent }>(PRESENCE_CHANGED, {
      storeId: 'acme-downtown',
    });
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-staff 1');
    const kitchen = await open(a, tokens['acme-kitchen']);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-kitchen 1');
    await Promise.all([kitchen.dispose(), staff.dispose()]);
    await storeEmptied();
    await client.dispose();
  });

  it('releases a subscription when its socket closes, on the instance that held it', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const channel = `${redisPrefix}t:acme:store:acme-downtown:presence`;
    const subscribers = async () => ((await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1];
    try {
      const before = await subscribers();
      const client = await open(b, tokens['acme-manager']);
      const changes = client.subscribe(PRESENCE_CHANGED, { storeId: 'acme-downtown' });
      const kitchen = await open(a, tokens['acme-kitchen']);
      await changes.next(); // subscribed, and the kitchen's ONLINE arrived (or was the current state)
      expect(await subscribers()).toBe(before + 1);
      await client.dispose();
      await eventually(async () => (await subscribers()) === before);
      await kitchen.dispose();
    } finally {
      redis.disconnect();
    }
  });

  it("alerts the store's managers once when a PREP station with open tickets has no device, and again only after it was back", async () => {
    const count = async () =>
      Number(
        (
          await a.server.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM "Notification" WHERE kind = 'STATION_OFFLINE'`,
          )
        )[0]!.n,
      );
    const checks = () =>
      a.server.services.stationAlerts.checksDone + b.server.services.stationAlerts.checksDone;
    const manager = await open(b, tokens['acme-manager']);
    const alerts = manager.subscribe<{ notifications: { notification: Record<string, unknown> } }>(
      NOTIFICATIONS,
    );
    const orderedAt = Date.now();
    await createOrder(a, tokens['acme-staff']!); // fries: a ticket at the grill, where no device is connected

    const first = await alerts.next(20_000);
    // Not before the grill was dark for STATION_OFFLINE_ALERT_SECONDS (1 s here), counted from the check that saw it.
    const alertedAt = Date.now();
    expect(alertedAt - orderedAt).toBeGreaterThanOrEqual(1000);
    expect(first.data?.notifications.notification).toMatchObject({
      kind: 'STATION_OFFLINE',
      targetRole: 'MANAGER',
      targetStoreId: 'acme-downtown',
      title: 'Grill: no screen connected',
      data: { stationId: 'acme-downtown-grill', storeId: 'acme-downtown', openTickets: 1 },
    });
    const { offlineSince } = first.data!.notifications.notification.data as { offlineSince: string };
    expect(Date.parse(offlineSince)).toBeGreaterThanOrEqual(orderedAt - 1000); // this order's ticket started it
    expect(alertedAt - Date.parse(offlineSince)).toBeGreaterThanOrEqual(1000);
    // Three more checks while the grill stays dark raise nothing more.
    const afterFirst = checks();
    await eventually(() => checks() >= afterFirst + 3, 20_000);
    expect(await count()).toBe(1);

    // The grill screen comes back (a check sees it), then leaves cleanly: a second alert.
    const grill = await open(a, tokens['acme-kitchen']);
    await eventually(
      async () => (await a.server.services.presence.registry.offlineStations()).length === 0,
      20_000,
    );
    await grill.dispose();
    const second = await alerts.next(20_000);
    expect(second.data?.notifications.notification).toMatchObject({
      kind: 'STATION_OFFLINE',
      title: 'Grill: no screen connected',
    });
    expect(await count()).toBe(2);

    // Staff are not the store's managers: the alert is not theirs.
    const staffHistory = await a.gql<{ notifications: { edges: Array<{ node: { kind: string } }> } }>(
      'query { notifications(first: 100) { edges { node { kind } } } }',
      {},
      { token: tokens['acme-staff'] },
    );
    expect(staffHistory.data!.notifications.edges.map((e) => e.node.kind)).not.toContain('STATION_OFFLINE');
    await manager.dispose();
  });

  /** The first presenceChanged result over SSE: the device's user id, or the error codes. */
  async function sseFirst(app: TestServer, token: string): Promise<{ userId?: string; errors?: unknown[] }> {
    const client = createSseClient({
      url: `${app.url}/graphql`,
      singleConnection: false,
      headers: { authorization: `Bearer ${token}` },
    });
    const iterator = client.iterate<{ presenceChanged: PresenceEvent }>({
      query: PRESENCE_CHANGED,
      variables: { storeId: 'acme-downtown' },
    });
    try {
      const { value } = await iterator.next();
      if (value?.errors) return { errors: value.errors.map((e: GqlError) => e.extensions?.code) };
      return { userId: value?.data?.presenceChanged.device.userId };
    } catch (error) {
      const errors = Array.isArray(error)
        ? (error as GqlError[])
        : ((error as { errors?: GqlError[] }).errors ?? []);
      return { errors: errors.map((e) => e.extensions?.code) };
    } finally {
      await iterator.return?.();
      client.dispose();
    }
  }
});

describe('presence on one instance without Redis (degraded mode)', TEST_TIMEOUT, () => {
  let app: TestServer;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    app = await startTestServer({ env: { ...ENV, PRESENCE_GRACE_MS: '1000' } });
    tokens = await tokensFor(app, USERS);
  });
  afterAll(() => app?.close());

  it('keeps the same rules within the instance: counts, clean close at once, grace after a reset, Station.online', async () => {
    expect(app.server.services.presence.registry.shared).toBe(false);
    const changes = await watch(app, tokens['acme-manager']!);
    const line = await startNetworkProxy(app.server.port);
    await openVia(line.wsUrl, tokens['acme-staff']!);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-staff 1');
    const kitchen = await open(app, tokens['acme-kitchen']);
    expect(brief(await nextChange(changes))).toBe('ONLINE acme-kitchen 1');
    const stations = await app.gql<{ store: { stations: Array<{ id: string; online: boolean }> } }>(
      STATIONS,
      {},
      { token: tokens['acme-manager'] },
    );
    expect(stations.data!.store.stations.find((s) => s.id === 'acme-downtown-grill')?.online).toBe(true);

    line.cut();
    await kitchen.dispose();
    expect(brief(await nextChange(changes))).toBe('OFFLINE acme-kitchen 0');
    expect(brief(await nextChange(changes, 1000 + SLACK_MS))).toBe('OFFLINE acme-staff 0');
    await line.close();
  });
});
