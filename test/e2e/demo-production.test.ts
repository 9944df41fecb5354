import { describe, expect, it } from 'vitest';
import { tokenForDemoUser } from '../../src/auth/tokens';
import { newPage, PATIENCE, placeAtPos, useChromium } from './chromium';

/**
 * The live demo where production serves it (NODE_ENV=production, GRAPHIQL=true): no demo sign-in, and only
 * trusted documents run (TRUSTED_DOCUMENTS=require, production's default), so the page sends every document
 * by its hash, queries, mutations and subscriptions alike (system Chromium).
 */

const SECRET = 'a-real-production-secret';
const [browser, production] = useChromium({ NODE_ENV: 'production', JWT_SECRET: SECRET, GRAPHIQL: 'true' });

describe('the /demo page with NODE_ENV=production (GRAPHIQL=true)', () => {
  it('offers no demo sign-in, only a token to paste', async () => {
    const page = await newPage(browser, 'demo-production-sign-in');
    const signInAsked = page.waitForResponse((response) => response.url().endsWith('/demo/sign-in'));
    await page.goto(`${production.origin}/demo`);
    expect((await signInAsked).status()).toBe(404);
    await page.locator('#token-form').waitFor();
    await expect(page.locator('#demo-sign-in-form').isHidden()).resolves.toBe(true);
    await expect(page.locator('#demo-user option').count()).resolves.toBe(0);
    await page.close();
  }, 180_000);

  it('runs under TRUSTED_DOCUMENTS=require: order at the POS, ticket, bump, ready, all by hash', async () => {
    const token = await tokenForDemoUser('acme-manager', { secret: SECRET });
    const page = await newPage(browser, 'demo-production-pos', { width: 1400, height: 900 });
    /** What the page sent: HTTP request bodies and query strings, and graphql-ws subscribe payloads. */
    const sent: Array<{ query?: unknown; extensions?: { persistedQuery?: { sha256Hash?: unknown } } }> = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname !== '/graphql') return;
      const body = request.postData();
      if (body) sent.push(JSON.parse(body));
      else
        sent.push({
          query: url.searchParams.get('query') ?? undefined,
          extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}'),
        });
    });
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        const message = JSON.parse(String(payload));
        if (message.type === 'subscribe') sent.push(message.payload);
      }),
    );
    await page.goto(`${production.origin}/demo?store=acme-downtown#token=${token}`);
    await page.locator('#status[data-state="live"]').waitFor();
    await page.locator('#pos-orders li').first().waitFor(); // the open orders have loaded

    const number = await placeAtPos(page, { item: 'Fries', quantity: 2, notes: 'extra salt', table: 3 });
    const ticket = page.locator(`.ticket[data-order-number="${number}"]`);
    await ticket.waitFor();
    await expect(ticket.locator('.table').textContent()).resolves.toBe('Table 3');
    await expect(ticket.locator('.notes').textContent()).resolves.toBe('extra salt');
    await ticket.getByRole('button', { name: 'Bump' }).click();
    await ticket.waitFor({ state: 'detached' });
    const order = page.locator(`#pos-orders li[data-order-number="${number}"]`);
    await expect.poll(() => order.getAttribute('data-status'), PATIENCE).toBe('READY');
    await expect(page.locator('#error').isHidden()).resolves.toBe(true);

    // Every operation (the catalog, the open orders, the order, the bump, each subscription) went by its hash.
    expect(sent.length).toBeGreaterThanOrEqual(6);
    for (const operation of sent) {
      expect(operation.query || undefined, JSON.stringify(operation)).toBeUndefined();
      expect(operation.extensions?.persistedQuery?.sha256Hash, JSON.stringify(operation)).toMatch(
        /^(sha256:)?[0-9a-f]{64}$/,
      );
    }
    await page.close();
  }, 180_000);
});
