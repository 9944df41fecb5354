import { describe, expect, it } from 'vitest';
import { useTestServer } from '../support/server';

const SEND = `mutation ($input: SendNotificationInput!) {
  sendNotification(input: $input) { id audience targetStoreId kind severity title createdById read }
}`;
const HISTORY = `query ($first: Int, $after: String, $unreadOnly: Boolean) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    unreadCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id title kind read readAt } }
  }
}`;
const MARK_READ = `mutation ($id: ID!) { markNotificationRead(id: $id) { id read readAt } }`;
const MARK_ALL = 'mutation { markAllNotificationsRead }';
const PREFERENCES = `mutation ($input: NotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) { mutedKinds minSeverity }
}`;
const LIVE = /* GraphQL */ `
  subscription ($after: String) {
    notifications(after: $after) { cursor notification { id audience kind severity title readAt } }
  }
`;

type Live = { notifications: { cursor: string; notification: { id: string; title: string; kind: string } } };
type History = {
  notifications: {
    unreadCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: { id: string; title: string; read: boolean } }[];
  };
};

// acme operates the platform in this suite: its admins may broadcast to every tenant.
const { app, tokens } = useTestServer({ env: { PLATFORM_TENANTS: 'acme' } });

async function send(input: Record<string, unknown>, token = tokens['acme-manager']) {
  const result = await app.gql<{ sendNotification: { id: string } }>(
    SEND,
    { input: { title: 'Heads up', body: 'Read me', ...input } },
    { token },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.sendNotification;
}

async function history(token: string | undefined, variables: Record<string, unknown> = {}) {
  const result = await app.gql<History>(HISTORY, variables, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.notifications;
}

describe('live notifications', () => {
  it('reach exactly the audience, across the user, role, store, tenant and system topics', async () => {
    const staff = await (await app.connect(tokens['acme-staff'])).live<Live>(LIVE);
    const admin = await (await app.connect(tokens['acme-admin'])).live<Live>(LIVE);
    const globex = await (await app.connect(tokens['globex-staff'])).live<Live>(LIVE);

    await send({ audience: 'STORE', targetStoreId: 'acme-uptown', title: 'uptown only' });
    await send({
      audience: 'ROLE',
      targetRole: 'STAFF',
      targetStoreId: 'acme-downtown',
      title: 'downtown staff',
    });
    await send({ audience: 'USER', targetUserId: 'acme-staff', title: 'just you' });
    await send({ audience: 'TENANT', title: 'all of acme' });
    await send({ audience: 'SYSTEM', title: 'everyone' }, tokens['acme-admin']);

    const staffTitles = (await staff.take(4)).map((r) => r.data?.notifications.notification.title);
    expect(staffTitles).toEqual(['downtown staff', 'just you', 'all of acme', 'everyone']);
    const adminTitles = (await admin.take(3)).map((r) => r.data?.notifications.notification.title);
    expect(adminTitles).toEqual(['uptown only', 'all of acme', 'everyone']);
    expect((await globex.next()).data?.notifications.notification.title).toBe('everyone');
    // Nothing else came before a broadcast all three may see.
    await send({ audience: 'SYSTEM', title: 'last' }, tokens['acme-admin']);
    for (const inbox of [staff, admin, globex])
      expect((await inbox.next()).data?.notifications.notification.title).toBe('last');
    await Promise.all([staff.close(), admin.close(), globex.close()]);
  });

  it('respect preferences changed while connected, and resume after a cursor', async () => {
    const socket = await app.connect(tokens['acme-kitchen']);
    const live = await socket.live<Live>(LIVE);
    const muted = await app.gql(
      PREFERENCES,
      { input: { mutedKinds: ['PROMO'], minSeverity: 'NORMAL' } },
      { token: tokens['acme-kitchen'] },
    );
    expect(muted.data).toEqual({
      updateNotificationPreferences: { mutedKinds: ['PROMO'], minSeverity: 'NORMAL' },
    });
    await send({ audience: 'TENANT', kind: 'PROMO', title: 'muted kind' });
    await send({ audience: 'TENANT', severity: 'LOW', title: 'too minor' });
    await send({ audience: 'TENANT', title: 'delivered' });
    const delivered = await live.next();
    expect(delivered.data?.notifications.notification.title).toBe('delivered');
    await live.close();

    await send({ audience: 'TENANT', severity: 'HIGH', title: 'missed while away' });
    const resumed = socket.subscribe<Live>(LIVE, { after: delivered.data?.notifications.cursor });
    expect((await resumed.next()).data?.notifications.notification.title).toBe('missed while away');
    await resumed.close();

    const page = await history(tokens['acme-kitchen'], { first: 50 });
    expect(page.edges.map((e) => e.node.title)).not.toContain('muted kind');
    expect(page.edges.map((e) => e.node.title)).not.toContain('too minor');
  });
});

describe('history and read receipts', () => {
  it('pages newest first and tracks what each user has read', async () => {
    const sent = [];
    for (const title of ['p1', 'p2', 'p3']) {
      sent.push(await send({ audience: 'USER', targetUserId: 'acme-admin', title }));
    }
    const first = await history(tokens['acme-admin'], { first: 2, unreadOnly: true });
    expect(first.edges.map((e) => e.node.title)).toEqual(['p3', 'p2']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const unreadBefore = first.unreadCount;

    const read = await app.gql(MARK_READ, { id: sent[2]!.id }, { token: tokens['acme-admin'] });
    expect(read.data).toMatchObject({ markNotificationRead: { id: sent[2]!.id, read: true } });
    expect((await history(tokens['acme-admin'])).unreadCount).toBe(unreadBefore - 1);

    const next = await history(tokens['acme-admin'], {
      first: 2,
      after: first.pageInfo.endCursor,
      unreadOnly: true,
    });
    expect(next.edges[0]?.node.title).toBe('p1');

    const all = await app.gql<{ markAllNotificationsRead: number }>(
      MARK_ALL,
      {},
      { token: tokens['acme-admin'] },
    );
    expect(all.data?.markAllNotificationsRead).toBe(unreadBefore - 1);
    expect((await history(tokens['acme-admin'])).unreadCount).toBe(0);
  });

  it('hides other users’ notifications from reads and refuses senders without the right', async () => {
    const mine = await send({ audience: 'USER', targetUserId: 'acme-manager', title: 'private' });
    const peek = await app.gql(MARK_READ, { id: mine.id }, { token: tokens['acme-staff'] });
    expect(peek.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const foreign = await app.gql(MARK_READ, { id: mine.id }, { token: tokens['globex-admin'] });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const staffSends = await app.gql(
      SEND,
      { input: { audience: 'TENANT', title: 't', body: 'b' } },
      { token: tokens['acme-staff'] },
    );
    expect(staffSends.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const managerSystem = await app.gql(
      SEND,
      { input: { audience: 'SYSTEM', title: 't', body: 'b' } },
      { token: tokens['acme-manager'] },
    );
    expect(managerSystem.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const otherTenantAdminSystem = await app.gql(
      SEND,
      { input: { audience: 'SYSTEM', title: 't', body: 'b' } },
      { token: await app.token('globex-admin') },
    );
    expect(otherTenantAdminSystem.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const missingStore = await app.gql(
      SEND,
      { input: { audience: 'STORE', title: 't', body: 'b' } },
      { token: tokens['acme-manager'] },
    );
    expect(missingStore.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anonymous = await app.gql(HISTORY, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
