import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateOrderDocument, type CreateOrderInput } from '../../src/client/gql/graphql';
import { type ExpediterTestServer, startTestServer } from '../../src/client/testing';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** The system Chromium (scripts/services.sh installs it); playwright-core downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const BURGER: CreateOrderInput = {
  storeId: 'acme-downtown',
  channel: 'POS',
  items: [{ productId: 'acme-downtown-burger', quantity: 2, notes: 'no onions' }],
};

let database: TestDatabase;
let server: ExpediterTestServer;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: run scripts/services.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  database = await createTestDatabase({ seed: true });
  await database.handle.close();
  [server, browser] = await Promise.all([
    startTestServer({ databaseUrl: database.url }),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    }),
  ]);
  origin = new URL(server.httpUrl).origin;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.drop();
});

/** Every request the page makes, to prove nothing is loaded from outside the server. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  return urls;
}

/**
 * Orders placed before the page's subscription is live rightly do not show up: place orders until one
 * does, and return what `shown(orderNumber)` found for it.
 */
async function placeOrderUntilShown(
  shown: (order: { id: string; number: number }) => Locator,
): Promise<Locator> {
  for (let attempt = 0; attempt < 15; attempt++) {
    const { createOrder } = await server.request('acme-staff', CreateOrderDocument, { input: BURGER });
    const locator = shown(createOrder);
    const appeared = await locator.waitFor({ timeout: 1000 }).then(
      () => true,
      () => false,
    );
    if (appeared) return locator;
  }
  throw new Error('no order ever appeared on the page');
}

describe('the /demo page in Chromium', () => {
  it('shows a new order on the kitchen display and in the manager view, and bumping removes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const requests = recordRequests(page);
    const token = await server.token('acme-manager');
    await page.goto(`${origin}/demo?store=acme-downtown&station=acme-downtown-grill#token=${token}`);
    await page.locator('#status[data-state="live"]').waitFor();
    await expect(page.locator('#token-form').isHidden()).resolves.toBe(true);

    const ticket = await placeOrderUntilShown((order) =>
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

describe('GraphiQL in Chromium', () => {
  it('runs the default subscription over WebSocket with the Headers tab token, with no CDN', async () => {
    const token = await server.token('acme-manager');
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    // What GraphiQL saves when someone types { "Authorization": "Bearer <token>" } into the Headers tab.
    await context.addInitScript(
      (saved) => localStorage.setItem('graphiql:headers', saved),
      JSON.stringify({ Authorization: `Bearer ${token}` }),
    );
    const page = await context.newPage();
    const requests = recordRequests(page);
    const sent: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => sent.push(String(payload))));

    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-execute-button').click();
    const response = page.locator('.graphiql-response');
    await placeOrderUntilShown((order) => response.getByText(order.id));
    await expect(response.textContent()).resolves.toContain('CREATED');
    await page.screenshot({ path: `${ARTIFACTS}/graphiql.png` });

    const init = sent.map((frame) => JSON.parse(frame)).find((message) => message.type === 'connection_init');
    expect(init.payload).toEqual({ authorization: `Bearer ${token}` });
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    await context.close();
  }, 60_000);
});
