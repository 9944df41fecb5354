import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { onTestFailed } from 'vitest';
import { CreateOrderDocument, type CreateOrderInput } from '../../src/client/gql/graphql';
import { httpRequest } from '../../src/client/http';

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

export async function newPage(browser: Browser, viewport?: { width: number; height: number }): Promise<Page> {
  return (await newContext(browser, viewport)).newPage();
}

/** When the running test fails, a screenshot of the page lands in test-artifacts/<name>-failed.png. */
export function screenshotOnFailure(page: Page, name: string) {
  onTestFailed(async () => {
    await page.screenshot({ path: `${ARTIFACTS}/${name}-failed.png`, fullPage: true }).catch(() => {});
  });
}

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
