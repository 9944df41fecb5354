import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpediterTestServer, startTestServer } from '../../src/client/testing';
import { createTestDatabase, type TestDatabase } from '../support/db';
import {
  ARTIFACTS,
  launchChromium,
  placeOrderUntilShown,
  recordRequests,
  screenshotOnFailure,
} from './chromium';

let database: TestDatabase;
let server: ExpediterTestServer;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  database = await createTestDatabase({ seed: true });
  await database.handle.close();
  [server, browser] = await Promise.all([startTestServer({ databaseUrl: database.url }), launchChromium()]);
  origin = new URL(server.httpUrl).origin;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.drop();
});

describe('the /demo page in Chromium', () => {
  it('shows a new order on the kitchen display and in the manager view, and bumping removes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    screenshotOnFailure(page, 'demo');
    const requests = recordRequests(page);
    const token = await server.token('acme-manager');
    await page.goto(`${origin}/demo?store=acme-downtown&station=acme-downtown-grill#token=${token}`);
    await page.locator('#status[data-state="live"]').waitFor();
    await expect(page.locator('#token-form').isHidden()).resolves.toBe(true);

    const ticket = await placeOrderUntilShown(server.httpUrl, await server.token('acme-staff'), (order) =>
      page.locator(`.ticket[data-order-number="${order.number}"]`),
    );
    await expect(ticket.locator('li').allInnerTexts()).resolves.toEqual(['2 × Burger (no onions)']);
    await expect
      .poll(async () => Number(await page.locator('[data-metric="ordersToday"] strong').textContent()))
      .toBeGreaterThan(0);
    await expect.poll(() => page.locator('#feed li').count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}/demo.png`, fullPage: true });

    await ticket.getByRole('button', { name: 'Bump' }).click();
    await ticket.waitFor({ state: 'detached', timeout: 5000 });
    await expect(page.locator('#error').isHidden()).resolves.toBe(true);
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    await page.close();
  }, 60_000);
});
