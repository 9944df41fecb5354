import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { expect, onTestFailed } from 'vitest';
import { CreateOrderDocument, type CreateOrderInput } from '../../src/client/gql/graphql';
import { httpRequest } from '../../src/client/http';
import { type ExpediterTestServer, startTestServer } from '../../src/client/testing';
import { DEMO_SIGN_IN_PATH } from '../../src/demo/graphiql/page';
import { createTestDatabase } from '../support/db';
import { standIn, started } from '../support/started';

/** The system Chromium (scripts/services.sh installs it); playwright-core downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-artifacts';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: run scripts/services.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** What `npm start` runs: development, no key configured (the development secret), the demo data. */
export const DEVELOPMENT = { NODE_ENV: 'development', JWT_SECRET: '' };

/** A server a browser test opens pages on, with its origin (http://127.0.0.1:<port>). */
export type PageServer = ExpediterTestServer & { origin: string };

/**
 * Chromium, and one server per environment on one database with the demo data, for a test file: started
 * before its tests and closed after them. Returns the browser, then the servers; each stands for what is
 * started, so use them inside tests and hooks.
 */
export function useChromium<const Envs extends readonly Record<string, string>[]>(
  ...envs: Envs
): [Browser, ...{ [K in keyof Envs]: PageServer }] {
  const running = started(
    async () => {
      const database = await createTestDatabase({ seed: true });
      await database.handle.close();
      const [browser, ...servers] = await Promise.all([
        launchChromium(),
        ...envs.map(async (env) => {
          const server = await startTestServer({ databaseUrl: database.url, env });
          return Object.assign(server, { origin: new URL(server.httpUrl).origin });
        }),
      ]);
      return { database, browser, servers };
    },
    async ({ database, browser, servers }) => {
      await browser.close();
      await Promise.all(servers.map((server) => server.close()));
      await database.drop();
    },
  );
  const servers = envs.map((_, i) => standIn(() => running.servers[i]));
  return [standIn(() => running.browser), ...servers] as never;
}

/** A token from a development server's own demo sign-in (it signs with the development secret). */
export async function demoToken(server: PageServer, userId: string): Promise<string> {
  const response = await fetch(`${server.origin}${DEMO_SIGN_IN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: userId }),
  });
  return ((await response.json()) as { token: string }).token;
}

/**
 * How long a browser test waits for a condition. Generous on purpose: with both cores busy, GraphiQL's
 * 5 MB bundle alone takes many seconds to load, and it still works.
 */
export const PATIENCE = { timeout: 60_000, interval: 100 };

/** A fresh browser profile whose waits (navigation, locators) are as patient as PATIENCE. */
export async function newContext(
  browser: Browser,
  viewport = { width: 1280, height: 800 },
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(PATIENCE.timeout);
  context.setDefaultNavigationTimeout(PATIENCE.timeout);
  return context;
}

/**
 * A page in a fresh browser profile (or in `within`, a profile the test prepared); when the running test
 * fails, a screenshot of it lands in test-artifacts/<name>-failed.png.
 */
export async function newPage(
  within: Browser | BrowserContext,
  name: string,
  viewport?: { width: number; height: number },
): Promise<Page> {
  const context = isBrowser(within) ? await newContext(within, viewport) : within;
  const page = await context.newPage();
  onTestFailed(async () => {
    await page.screenshot({ path: `${ARTIFACTS}/${name}-failed.png`, fullPage: true }).catch(() => {});
  });
  return page;
}

/** (Not `in`: useChromium's browser stands in for the real one and has only the real one's members.) */
const isBrowser = (within: Browser | BrowserContext): within is Browser =>
  typeof (within as Browser).newContext === 'function';

/** Every request the page makes, to prove nothing is loaded from outside the server. */
export function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  return urls;
}

/** Rung up at the till for table 7 (a TABLE order would need a party seated there first). */
export const BURGER: CreateOrderInput = {
  storeId: 'acme-downtown',
  channel: 'POS',
  tableNumber: 7,
  items: [{ productId: 'acme-downtown-burger', quantity: 2, notes: 'no onions' }],
};

/**
 * Orders placed before the page's subscription is live rightly do not show up: place orders (as the
 * token's user, over HTTP) until one does, and return what `shown(order)` found for it.
 */
export async function placeOrderUntilShown(
  httpUrl: string,
  token: string,
  shown: (order: { id: string; number: number }) => Locator,
  input: CreateOrderInput = BURGER,
): Promise<Locator> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { createOrder } = await httpRequest(httpUrl, CreateOrderDocument, { input }, { token });
    const locator = shown(createOrder);
    const appeared = await locator.waitFor({ timeout: 2000 }).then(
      () => true,
      () => false,
    );
    if (appeared) return locator;
  }
  throw new Error('no order ever appeared on the page');
}

/**
 * At the live demo's POS (its open orders loaded): rings up `quantity` of `item` with notes for a table, and
 * returns the number of the one order that then appears in the POS list.
 */
export async function placeAtPos(
  page: Page,
  order: { item: string; quantity: number; notes: string; table: number },
): Promise<string> {
  const orderNumbers = () =>
    page
      .locator('#pos-orders li[data-order-number]')
      .evaluateAll((lines) => lines.map((line) => line.getAttribute('data-order-number')));
  const listed = new Set(await orderNumbers());
  await page.getByLabel(`${order.item} quantity`).fill(String(order.quantity));
  await page.getByLabel(`${order.item} notes`).fill(order.notes);
  await page.locator('#pos-table').fill(String(order.table));
  await page.getByRole('button', { name: 'Place order' }).click();
  const placed = async () => (await orderNumbers()).filter((number) => !listed.has(number));
  await expect.poll(placed, PATIENCE).toHaveLength(1);
  return (await placed())[0]!;
}
