import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal';
import {
  canSeeNotification,
  type NotificationEventView,
  type SendNotificationInput,
} from '../../src/domain/notifications';
import { as, createDomainFixture, type DomainFixture, drainFor, nextWithin } from '../support/domain-fixture';

const manager = as('acme-manager'); // MANAGER, every acme store
const admin = as('acme-admin');
const staff = as('acme-staff'); // STAFF, acme-downtown only
const kitchen = as('acme-kitchen'); // KITCHEN, acme-downtown only
const globexAdmin = as('globex-admin');
const downtownManager = as('acme-manager', { stores: ['acme-downtown'] });

let f: DomainFixture;

beforeAll(async () => {
  f = await createDomainFixture();
});

afterAll(async () => {
  await f.close();
});

beforeEach(async () => {
  await f.deps.db.notificationReceipt.deleteMany({});
  await f.deps.db.notification.deleteMany({});
  await f.deps.db.notificationPreference.deleteMany({});
});

const message = (input: Partial<SendNotificationInput> = {}): SendNotificationInput => ({
  audience: 'TENANT',
  title: 'Heads up',
  body: 'Staff meeting at 3',
  ...input,
});

async function titlesSeenBy(principal: Principal): Promise<string[]> {
  const page = await f.notifications.notifications(principal, { first: 100 });
  return page.edges.map((edge) => edge.node.title);
}

describe('audiences', () => {
  it('shows a STORE notification to that store’s people only, never to another tenant', async () => {
    await f.notifications.sendNotification(
      manager,
      message({ audience: 'STORE', targetStoreId: 'acme-uptown' }),
    );
    expect(await titlesSeenBy(admin)).toEqual(['Heads up']);
    expect(await titlesSeenBy(manager)).toEqual(['Heads up']);
    expect(await titlesSeenBy(staff)).toEqual([]);
    expect(await titlesSeenBy(globexAdmin)).toEqual([]);
  });

  it('shows a USER notification to that user only', async () => {
    await f.notifications.sendNotification(
      manager,
      message({ audience: 'USER', targetUserId: 'acme-staff' }),
    );
    expect(await titlesSeenBy(staff)).toEqual(['Heads up']);
    expect(await titlesSeenBy(manager)).toEqual([]);
    expect(await titlesSeenBy(admin)).toEqual([]);
  });

  it('shows a ROLE notification to that role in that store', async () => {
    await f.notifications.sendNotification(
      manager,
      message({ audience: 'ROLE', targetRole: 'KITCHEN', targetStoreId: 'acme-downtown' }),
    );
    expect(await titlesSeenBy(kitchen)).toEqual(['Heads up']);
    expect(await titlesSeenBy(staff)).toEqual([]);
    expect(await titlesSeenBy(as('acme-kitchen', { stores: ['acme-uptown'] }))).toEqual([]);
  });

  it('shows a TENANT notification to everyone working in the tenant and a SYSTEM one to everyone', async () => {
    await f.notifications.sendNotification(manager, message({ title: 'Tenant news' }));
    await f.notifications.sendNotification(
      admin,
      message({ audience: 'SYSTEM', title: 'Maintenance tonight' }),
    );
    expect(await titlesSeenBy(staff)).toEqual(['Maintenance tonight', 'Tenant news']);
    expect(await titlesSeenBy(as('acme-customer'))).toEqual(['Maintenance tonight']);
    expect(await titlesSeenBy(globexAdmin)).toEqual(['Maintenance tonight']);
  });

  it('shows STORE and TENANT notifications to customers only when the sender includes them', async () => {
    const customer = as('acme-customer'); // CUSTOMER, acme-downtown
    const customerWhoWorksThere = as('acme-customer', { roles: ['CUSTOMER', 'STAFF'] });
    await f.notifications.sendNotification(
      manager,
      message({ audience: 'STORE', targetStoreId: 'acme-downtown', title: 'Staff: fridge' }),
    );
    await f.notifications.sendNotification(manager, message({ title: 'Staff: meeting' }));
    await f.notifications.sendNotification(
      manager,
      message({
        audience: 'STORE',
        targetStoreId: 'acme-downtown',
        includeCustomers: true,
        title: 'All: closing early',
      }),
    );
    await f.notifications.sendNotification(
      manager,
      message({ includeCustomers: true, title: 'All: new menu' }),
    );
    await f.notifications.sendNotification(
      manager,
      message({
        audience: 'ROLE',
        targetRole: 'CUSTOMER',
        targetStoreId: 'acme-downtown',
        title: 'Customers: happy hour',
      }),
    );

    expect((await titlesSeenBy(customer)).sort()).toEqual([
      'All: closing early',
      'All: new menu',
      'Customers: happy hour',
    ]);
    expect((await titlesSeenBy(staff)).sort()).toEqual([
      'All: closing early',
      'All: new menu',
      'Staff: fridge',
      'Staff: meeting',
    ]);
    expect(await titlesSeenBy(customerWhoWorksThere)).toHaveLength(5);
    expect((await f.notifications.notifications(customer)).unreadCount).toBe(3);
    expect(await f.notifications.markAllNotificationsRead(customer)).toBe(3);
  });

  it('takes includeCustomers for STORE and TENANT audiences only', async () => {
    for (const input of [
      message({ audience: 'USER', targetUserId: 'acme-customer', includeCustomers: true }),
      message({
        audience: 'ROLE',
        targetRole: 'STAFF',
        targetStoreId: 'acme-downtown',
        includeCustomers: true,
      }),
    ]) {
      await expect(f.notifications.sendNotification(manager, input)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field: 'includeCustomers' },
      });
    }
  });

  it('agrees with the visibility rule used for live events', () => {
    const store = {
      tenantId: 'acme',
      audience: 'STORE' as const,
      targetUserId: null,
      targetRole: null,
      targetStoreId: 'acme-uptown',
      includeCustomers: false,
    };
    const downtownStore = { ...store, targetStoreId: 'acme-downtown' };
    const customer = as('acme-customer');
    expect(canSeeNotification(customer, downtownStore)).toBe(false);
    expect(canSeeNotification(customer, { ...downtownStore, includeCustomers: true })).toBe(true);
    expect(canSeeNotification(customer, { ...store, audience: 'TENANT', targetStoreId: null })).toBe(false);
    expect(
      canSeeNotification(customer, {
        ...store,
        audience: 'TENANT',
        targetStoreId: null,
        includeCustomers: true,
      }),
    ).toBe(true);
    expect(canSeeNotification(manager, store)).toBe(true);
    expect(canSeeNotification(staff, store)).toBe(false);
    expect(canSeeNotification(globexAdmin, { ...store, audience: 'TENANT', targetStoreId: null })).toBe(
      false,
    );
    expect(
      canSeeNotification(globexAdmin, { ...store, tenantId: null, audience: 'SYSTEM', targetStoreId: null }),
    ).toBe(true);
  });
});

describe('sendNotification', () => {
  it('stores the sender, kind and severity and announces it on the audience’s topic', async () => {
    const before = await f.lastEventId();
    const sent = await f.notifications.sendNotification(
      manager,
      message({
        audience: 'STORE',
        targetStoreId: 'acme-downtown',
        kind: 'SHIFT_CHANGE',
        severity: 'HIGH',
        data: { shift: 2 },
      }),
    );
    expect(sent).toMatchObject({
      tenantId: 'acme',
      audience: 'STORE',
      targetStoreId: 'acme-downtown',
      kind: 'SHIFT_CHANGE',
      severity: 'HIGH',
      data: { shift: 2 },
      createdById: 'acme-manager',
      readAt: null,
    });
    const events = await f.events(before);
    expect(events.map((e) => [e.topic, e.kind, e.payload.notification.id])).toEqual([
      ['t:acme:store:acme-downtown:notifications', 'notification.CREATED', sent.id],
    ]);
  });

  it('defaults the kind to MESSAGE and the severity to NORMAL', async () => {
    expect(await f.notifications.sendNotification(manager, message())).toMatchObject({
      kind: 'MESSAGE',
      severity: 'NORMAL',
    });
  });

  it('is for managers and admins, within their stores; TENANT needs every store, SYSTEM a platform admin', async () => {
    const uptownManager = as('acme-manager', { stores: ['acme-uptown'] });
    const refused = [
      [staff, message()],
      [manager, message({ audience: 'SYSTEM' })],
      // globex is not in PLATFORM_TENANTS: its admin cannot reach other tenants.
      [as('globex-admin'), message({ audience: 'SYSTEM' })],
      [downtownManager, message()],
      [downtownManager, message({ audience: 'STORE', targetStoreId: 'acme-uptown' })],
      [uptownManager, message({ audience: 'USER', targetUserId: 'acme-staff' })],
    ] as const;
    for (const [principal, input] of refused) {
      await expect(f.notifications.sendNotification(principal, input)).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    const allowed = [
      [downtownManager, message({ audience: 'USER', targetUserId: 'acme-staff' })],
      [downtownManager, message({ audience: 'ROLE', targetRole: 'STAFF', targetStoreId: 'acme-downtown' })],
      [uptownManager, message({ audience: 'USER', targetUserId: 'acme-admin' })],
    ] as const;
    for (const [principal, input] of allowed) {
      expect((await f.notifications.sendNotification(principal, input)).createdById).toBe('acme-manager');
    }
  });

  it('never reaches into another tenant', async () => {
    await expect(
      f.notifications.sendNotification(
        manager,
        message({ audience: 'STORE', targetStoreId: 'globex-central' }),
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      f.notifications.sendNotification(manager, message({ audience: 'USER', targetUserId: 'globex-staff' })),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses missing or extra targets, empty or long texts and malformed kinds', async () => {
    const bad: SendNotificationInput[] = [
      message({ audience: 'STORE' }),
      message({ audience: 'ROLE', targetStoreId: 'acme-downtown' }),
      message({ audience: 'USER' }),
      message({ audience: 'TENANT', targetUserId: 'acme-staff' }),
      message({ title: '  ' }),
      message({ title: 'x'.repeat(201) }),
      message({ body: '' }),
      message({ kind: 'lower case' }),
    ];
    for (const input of bad) {
      await expect(f.notifications.sendNotification(admin, input)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
    expect(await f.deps.db.notification.count()).toBe(0);
  });
});

describe('read receipts', () => {
  it('marks one notification read for the caller only', async () => {
    const sent = await f.notifications.sendNotification(manager, message());
    const read = await f.notifications.markNotificationRead(staff, sent.id);
    expect(Date.parse(read.readAt!)).not.toBeNaN();
    const mine = await f.notifications.notifications(staff);
    expect([mine.unreadCount, mine.edges[0]?.node.readAt]).toEqual([0, read.readAt]);
    const theirs = await f.notifications.notifications(kitchen);
    expect([theirs.unreadCount, theirs.edges[0]?.node.readAt]).toEqual([1, null]);
    expect((await f.notifications.markNotificationRead(staff, sent.id)).readAt).toBe(read.readAt);
  });

  it('refuses to mark a notification the caller cannot see', async () => {
    const sent = await f.notifications.sendNotification(
      manager,
      message({ audience: 'STORE', targetStoreId: 'acme-uptown' }),
    );
    await expect(f.notifications.markNotificationRead(staff, sent.id)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(f.notifications.markNotificationRead(globexAdmin, sent.id)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('marks everything the caller can see as read and counts what was unread', async () => {
    await f.notifications.sendNotification(manager, message({ title: 'one' }));
    await f.notifications.sendNotification(
      manager,
      message({ title: 'two', audience: 'USER', targetUserId: 'acme-staff' }),
    );
    await f.notifications.sendNotification(
      manager,
      message({ title: 'elsewhere', audience: 'STORE', targetStoreId: 'acme-uptown' }),
    );
    expect(await f.notifications.markAllNotificationsRead(staff)).toBe(2);
    expect(await f.notifications.markAllNotificationsRead(staff)).toBe(0);
    expect((await f.notifications.notifications(staff, { unreadOnly: true })).edges).toEqual([]);
    expect((await f.notifications.notifications(manager)).unreadCount).toBe(2);
  });
});

describe('history pages', () => {
  it('pages newest first with cursors and counts unread over the whole history', async () => {
    for (const title of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      await f.notifications.sendNotification(manager, message({ title }));
    }
    const first = await f.notifications.notifications(staff, { first: 2 });
    expect(first.edges.map((e) => e.node.title)).toEqual(['n5', 'n4']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.unreadCount).toBe(5);
    const second = await f.notifications.notifications(staff, { first: 2, after: first.pageInfo.endCursor });
    expect(second.edges.map((e) => e.node.title)).toEqual(['n3', 'n2']);
    const last = await f.notifications.notifications(staff, { first: 2, after: second.pageInfo.endCursor });
    expect(last.edges.map((e) => e.node.title)).toEqual(['n1']);
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('filters unread notifications', async () => {
    const read = await f.notifications.sendNotification(manager, message({ title: 'read' }));
    await f.notifications.sendNotification(manager, message({ title: 'unread' }));
    await f.notifications.markNotificationRead(staff, read.id);
    const page = await f.notifications.notifications(staff, { unreadOnly: true });
    expect(page.edges.map((e) => e.node.title)).toEqual(['unread']);
  });

  it('refuses bad page sizes and cursors', async () => {
    for (const args of [{ first: 0 }, { first: 101 }, { after: 'garbage' }]) {
      await expect(f.notifications.notifications(staff, args)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
  });
});

describe('preferences', () => {
  it('defaults to nothing muted and every severity', async () => {
    expect(await f.notifications.notificationPreferences(staff)).toEqual({
      mutedKinds: [],
      minSeverity: 'LOW',
    });
  });

  it('hides muted kinds and lower severities from history and the unread count', async () => {
    await f.notifications.sendNotification(
      manager,
      message({ title: 'promo', kind: 'PROMO', severity: 'HIGH' }),
    );
    await f.notifications.sendNotification(manager, message({ title: 'chatter', severity: 'LOW' }));
    await f.notifications.sendNotification(manager, message({ title: 'fire drill', severity: 'URGENT' }));
    const saved = await f.notifications.updateNotificationPreferences(staff, {
      mutedKinds: ['PROMO', 'PROMO'],
      minSeverity: 'NORMAL',
    });
    expect(saved).toEqual({ mutedKinds: ['PROMO'], minSeverity: 'NORMAL' });
    const page = await f.notifications.notifications(staff);
    expect([page.edges.map((e) => e.node.title), page.unreadCount]).toEqual([['fire drill'], 1]);
    expect(await titlesSeenBy(kitchen)).toEqual(['fire drill', 'chatter', 'promo']);
  });

  it('keeps the other setting when only one is updated, and refuses malformed kinds', async () => {
    await f.notifications.updateNotificationPreferences(staff, { mutedKinds: ['PROMO'] });
    expect(await f.notifications.updateNotificationPreferences(staff, { minSeverity: 'HIGH' })).toEqual({
      mutedKinds: ['PROMO'],
      minSeverity: 'HIGH',
    });
    await expect(
      f.notifications.updateNotificationPreferences(staff, { mutedKinds: ['not a kind'] }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(
      f.notifications.updateNotificationPreferences(staff, {
        mutedKinds: Array.from({ length: 51 }, (_, i) => `KIND_${i}`),
      }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

describe('subscribeNotifications', () => {
  const streams: AsyncIterableIterator<NotificationEventView>[] = [];
  const open = async (principal: Principal, after?: string) => {
    const stream = await f.notifications.subscribeNotifications(principal, after);
    streams.push(stream);
    return stream;
  };

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.return?.()));
  });

  it('merges the user, role, store, tenant and system topics into one stream', async () => {
    const stream = await open(staff);
    await f.notifications.sendNotification(
      manager,
      message({ title: 'user', audience: 'USER', targetUserId: 'acme-staff' }),
    );
    await f.notifications.sendNotification(
      manager,
      message({ title: 'role', audience: 'ROLE', targetRole: 'STAFF', targetStoreId: 'acme-downtown' }),
    );
    await f.notifications.sendNotification(
      manager,
      message({
        title: 'other role',
        audience: 'ROLE',
        targetRole: 'KITCHEN',
        targetStoreId: 'acme-downtown',
      }),
    );
    await f.notifications.sendNotification(
      manager,
      message({ title: 'other store', audience: 'STORE', targetStoreId: 'acme-uptown' }),
    );
    await f.notifications.sendNotification(
      manager,
      message({ title: 'store', audience: 'STORE', targetStoreId: 'acme-downtown' }),
    );
    await f.notifications.sendNotification(manager, message({ title: 'tenant' }));
    await f.notifications.sendNotification(admin, message({ title: 'system', audience: 'SYSTEM' }));
    const titles = [];
    for (let i = 0; i < 5; i++) titles.push((await nextWithin(stream)).notification.title);
    expect(titles).toEqual(['user', 'role', 'store', 'tenant', 'system']);
    expect(await drainFor(stream, 150)).toEqual([]);
  });

  it('applies the preferences in force when each event arrives', async () => {
    const stream = await open(staff);
    await f.notifications.updateNotificationPreferences(staff, { mutedKinds: ['PROMO'] });
    await f.notifications.sendNotification(manager, message({ title: 'muted', kind: 'PROMO' }));
    await f.notifications.sendNotification(manager, message({ title: 'delivered' }));
    expect((await nextWithin(stream)).notification.title).toBe('delivered');
    await f.notifications.updateNotificationPreferences(staff, { mutedKinds: [] });
    await f.notifications.sendNotification(manager, message({ title: 'unmuted', kind: 'PROMO' }));
    expect((await nextWithin(stream)).notification.title).toBe('unmuted');
  });

  it('resumes after a cursor with what was missed', async () => {
    const stream = await open(staff);
    await f.notifications.sendNotification(manager, message({ title: 'seen' }));
    const seen = await nextWithin(stream);
    await stream.return?.();
    await f.notifications.sendNotification(manager, message({ title: 'missed' }));
    const resumed = await open(staff, seen.cursor);
    expect((await nextWithin(resumed)).notification.title).toBe('missed');
  });

  it('never delivers another tenant’s notifications', async () => {
    const globex = await open(globexAdmin);
    await f.notifications.sendNotification(manager, message({ title: 'acme only' }));
    expect(await drainFor(globex, 200)).toEqual([]);
  });
});
