import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  DEVELOPMENT,
  demoToken,
  newPage,
  PATIENCE,
  placeAtPos,
  placeOrderUntilShown,
  recordRequests,
  useChromium,
} from './chromium';

/** The live demo (/demo) as someone shows it, in Chromium: what `npm start` serves (development, demo data). */

const [browser, server] = useChromium(DEVELOPMENT);

const metric = async (page: Page, name: string) =>
  (await page.locator(`[data-metric="${name}"] strong`).textContent()) ?? '';

describe('the /demo page in Chromium', () => {
  it('shows a table order on the kitchen display with its table and notes, money with its currency, and bumping removes it', async () => {
    const page = await newPage(browser, 'demo-kitchen', { width: 1400, height: 800 });
    const requests = recordRequests(page);
    const token = await demoToken(server, 'acme-manager');
    await page.goto(`${server.origin}/demo?store=acme-downtown&station=acme-downtown-grill#token=${token}`);
    await page.locator('#status[data-state="live"]').waitFor();
    await expect(page.locator('#token-form').isHidden()).resolves.toBe(true);

    const ticket = await placeOrderUntilShown(
      server.httpUrl,
      await demoToken(server, 'acme-staff'),
      (order) => page.locator(`.ticket[data-order-number="${order.number}"]`),
    );
    await expect(ticket.locator('.table').textContent()).resolves.toBe('Table 7');
    // Each line's item and its notes, read from the DOM (innerText depends on whether layout has run yet).
    const lines = ticket.locator('li').evaluateAll((items) =>
      items.map((item) => ({
        item: item.firstChild?.textContent,
        notes: item.querySelector('.notes')?.textContent,
      })),
    );
    await expect(lines).resolves.toEqual([{ item: '2 × Burger', notes: 'no onions' }]);
    await expect(ticket.locator('.notes').textContent()).resolves.toBe('no onions');
    await expect.poll(() => metric(page, 'salesTodayCents'), PATIENCE).toMatch(/^\$\d+\.\d\d$/);
    await expect.poll(() => page.locator('#feed li').count(), PATIENCE).toBeGreaterThan(0);
    expect(await page.locator('#feed li').first().textContent()).toMatch(/\$\d+\.\d\d$/);
    await page.screenshot({ path: `${ARTIFACTS}/demo.png`, fullPage: true });

    await ticket.getByRole('button', { name: 'Bump' }).click();
    await ticket.waitFor({ state: 'detached' });
    await expect(page.locator('#error').isHidden()).resolves.toBe(true);
    expect(requests.filter((url) => !url.startsWith(server.origin))).toEqual([]);
    await page.close();
  }, 180_000);

  it('runs the whole loop without a terminal: sign in, order at the POS, kitchen ticket, bump, ready, complete, dashboard', async () => {
    const page = await newPage(browser, 'demo-pos', { width: 1400, height: 900 });
    await page.goto(`${server.origin}/demo`);
    await page.locator('#demo-user').selectOption('acme-manager');
    await page.locator('#demo-sign-in-form button[type="submit"]').click();
    await page.waitForURL(/\/demo\?store=acme-downtown$/);
    await page.locator('#status[data-state="live"]').waitFor();
    await page.locator('[data-metric="openOrders"]').waitFor();
    const openBefore = Number(await metric(page, 'openOrders'));
    const ordersBefore = Number(await metric(page, 'ordersToday'));
    await page.locator('#pos-orders li').first().waitFor(); // the open orders have loaded

    // Order at the POS: one burger with a note, for table 5.
    await expect(page.locator('.pos-line small').first().textContent()).resolves.toMatch(/^\$\d+\.\d\d$/);
    const number = await placeAtPos(page, { item: 'Burger', quantity: 1, notes: 'extra pickles', table: 5 });
    const order = page.locator(`#pos-orders li[data-order-number="${number}"]`);
    expect(await order.textContent()).toMatch(new RegExp(`^#${number} · Table 5 · PENDING · \\$10\\.99`));

    // The kitchen (the expo station sees every ticket of the store) shows it, table and notes first.
    const ticket = page.locator(`.ticket[data-order-number="${number}"]`);
    await ticket.waitFor();
    await expect(ticket.locator('.table').textContent()).resolves.toBe('Table 5');
    await expect(ticket.locator('.notes').textContent()).resolves.toBe('extra pickles');
    await expect.poll(async () => Number(await metric(page, 'ordersToday')), PATIENCE).toBe(ordersBefore + 1);
    await expect.poll(async () => Number(await metric(page, 'openOrders')), PATIENCE).toBe(openBefore + 1);
    await page.screenshot({ path: `${ARTIFACTS}/demo-pos.png`, fullPage: true });

    // Bump: the last ticket of the order makes it READY; the POS completes it; the dashboard follows.
    await ticket.getByRole('button', { name: 'Bump' }).click();
    await ticket.waitFor({ state: 'detached' });
    await expect.poll(() => order.getAttribute('data-status'), PATIENCE).toBe('READY');
    await expect.poll(() => metric(page, 'averageTicketSeconds'), PATIENCE).toMatch(/^\d+:\d\d$/);
    await order.getByRole('button', { name: 'Complete' }).click();
    await order.waitFor({ state: 'detached' });
    await expect.poll(async () => Number(await metric(page, 'openOrders')), PATIENCE).toBe(openBefore);
    await expect(page.locator('#error').isHidden()).resolves.toBe(true);
    await page.close();
  }, 180_000);
});
