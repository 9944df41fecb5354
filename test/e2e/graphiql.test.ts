import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { tokenForDemoUser } from '../../src/auth/tokens';
import {
  DEVELOPMENT,
  demoToken,
  newContext,
  newPage,
  PATIENCE,
  type PageServer,
  placeOrderUntilShown,
  recordRequests,
  useChromium,
} from './chromium';

/**
 * GraphiQL as an integrator meets it (system Chromium): in development with the demo data, and in
 * production with GraphiQL switched on.
 */

const [browser, development, production] = useChromium(DEVELOPMENT, {
  // GraphiQL next to production's TRUSTED_DOCUMENTS=require, as docs/clients.md says to run them together.
  NODE_ENV: 'production',
  JWT_SECRET: 'a-real-production-secret',
  GRAPHIQL: 'true',
  INTROSPECTION: 'true',
});

/** A fresh browser profile holding what GraphiQL saves when someone types `headers` into its Headers tab. */
async function withSavedHeaders(headers: Record<string, string>): Promise<BrowserContext> {
  const context = await newContext(browser);
  await context.addInitScript(
    (saved) => localStorage.setItem('graphiql:headers', saved),
    JSON.stringify(headers),
  );
  return context;
}

/** A fresh browser profile (nothing saved by GraphiQL) on GraphiQL, once its editors are up. */
async function openGraphiQL(server: PageServer, name: string, path = '/graphql') {
  const context = await newContext(browser);
  const page = await newPage(context, name);
  const requests = recordRequests(page);
  const sentFrames: string[] = [];
  page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => sentFrames.push(String(payload))));
  await page.goto(`${server.origin}${path}`);
  await expect.poll(() => editorText(page, 'request-headers.json'), PATIENCE).not.toBeNull();
  return { context, page, requests, sentFrames };
}

/** The text of one of GraphiQL's editors (operation.graphql, variables.json, request-headers.json, ...). */
function editorText(page: Page, name: string): Promise<string | null> {
  return page.evaluate((suffix) => {
    const monaco = (
      globalThis as {
        __MONACO?: { editor: { getModels(): Array<{ uri: { path: string }; getValue(): string }> } };
      }
    ).__MONACO;
    const model = monaco?.editor.getModels().find((candidate) => candidate.uri.path.endsWith(suffix));
    return model ? model.getValue() : null;
  }, name);
}

async function run(page: Page) {
  await page.locator('.graphiql-execute-button').click();
}

const response = (page: Page) => page.locator('.graphiql-response');

/** What the result pane shows, as text (Monaco renders spaces as no-break spaces). */
const responseText = async (page: Page) => (await editorText(page, 'response.json')) ?? '';

async function close(context: BrowserContext) {
  await context.close();
}

describe('GraphiQL in development, with the demo data', () => {
  it('runs the default subscription without a token and shows the 4401 refusal readably', async () => {
    const { context, page, requests } = await openGraphiQL(development, 'graphiql-4401');
    await run(page);
    await response(page).getByText('WebSocket closed with 4401 Unauthorized').waitFor();
    const shown = await responseText(page);
    expect(shown).toContain('Authentication required');
    expect(shown).toContain('Pick a demo user and press');
    expect(shown).not.toContain('isTrusted');

    // the same over SSE
    await page.locator('#subscription-transport').selectOption('sse');
    await run(page);
    await expect
      .poll(() => responseText(page), PATIENCE)
      .toMatch(/^(?!.*WebSocket closed)(?=.*"UNAUTHENTICATED")(?=.*Pick a demo user and press)/s);
    expect(requests.filter((url) => !url.startsWith(development.origin))).toEqual([]);
    await close(context);
  }, 180_000);

  it('signs in as a demo user, fills the Headers tab, and streams an order placed over HTTP', async () => {
    const { context, page, sentFrames } = await openGraphiQL(development, 'graphiql-sign-in');
    await page.locator('#demo-user').selectOption('acme-manager');
    await page.locator('#demo-sign-in').click();
    await page.locator('#sign-in-status[data-state="signed-in"]').waitFor();
    expect(await page.locator('#sign-in-status').textContent()).toMatch(/^Signed in as acme-manager until /);
    await expect
      .poll(() => editorText(page, 'request-headers.json'), PATIENCE)
      .toMatch(/"Authorization": "Bearer ey/);
    const headers = JSON.parse((await editorText(page, 'request-headers.json'))!) as {
      Authorization: string;
    };

    await run(page);
    const staffToken = await demoToken(development, 'acme-staff');
    await placeOrderUntilShown(development.httpUrl, staffToken, (order) =>
      response(page).getByText(order.id),
    );
    const shown = await responseText(page);
    expect(shown).toContain('"kind": "CREATED"');
    expect(shown).toContain('"tableNumber": 7');
    const init = sentFrames
      .map((frame) => JSON.parse(frame))
      .find((message) => message.type === 'connection_init');
    expect(init.payload).toEqual({ authorization: headers.Authorization });
    await page.screenshot({ path: 'test-artifacts/graphiql.png' });

    // Signing out takes the token out of the Headers tab again.
    await run(page); // stops the subscription
    await page.locator('#demo-sign-out').click();
    await expect
      .poll(() => editorText(page, 'request-headers.json'), PATIENCE)
      .not.toContain('Authorization');
    await close(context);
  }, 180_000);

  it("opens the examples for the signed-in user's store, runs them as is, and links to what is in the editors", async () => {
    const { context, page } = await openGraphiQL(development, 'graphiql-examples');
    await page.locator('#demo-user').selectOption('globex-manager');
    await page.locator('#demo-sign-in').click();
    await page.locator('#sign-in-status[data-state="signed-in"]').waitFor();

    await page.locator('#examples summary').click();
    await page.locator('a[data-example="PlaceOrder"]').click();
    await expect.poll(() => editorText(page, 'operation.graphql'), PATIENCE).toContain('mutation PlaceOrder');
    expect(JSON.parse((await editorText(page, 'variables.json'))!)).toMatchObject({
      input: { storeId: 'globex-central', tableNumber: 12 },
    });
    expect(await editorText(page, 'request-headers.json')).toContain('Bearer ey');
    await run(page);
    await response(page).getByText('"createOrder"').waitFor();
    const placed = await responseText(page);
    expect(placed).toContain('"currency": "USD"');
    expect(placed).not.toContain('"errors"');

    // The address carries the document and the variables as they are edited: a link to share.
    await page.evaluate(() => {
      const monaco = (
        globalThis as {
          __MONACO?: { editor: { getModels(): Array<{ uri: { path: string }; setValue(v: string): void }> } };
        }
      ).__MONACO!;
      monaco.editor
        .getModels()
        .find((model) => model.uri.path.endsWith('variables.json'))!
        .setValue(
          JSON.stringify({
            input: {
              storeId: 'globex-central',
              channel: 'POS',
              items: [{ productId: 'globex-central-fries', quantity: 3 }],
            },
          }),
        );
    });
    await expect
      .poll(() => new URL(page.url()).searchParams.get('variables'), PATIENCE)
      .toContain('globex-central-fries');
    const link = page.url();
    expect(new URL(link).searchParams.get('query')).toContain('mutation PlaceOrder');
    expect(link).not.toContain('Bearer');
    await close(context);

    const shared = await openGraphiQL(
      development,
      'graphiql-shared-link',
      link.slice(development.origin.length),
    );
    expect(await editorText(shared.page, 'operation.graphql')).toContain('mutation PlaceOrder');
    expect(await editorText(shared.page, 'variables.json')).toContain('globex-central-fries');
    await close(shared.context);
  }, 180_000);
});

describe('GraphiQL with a token pasted into the Headers tab', () => {
  it('sends it as the connection params of the subscription socket', async () => {
    const token = await demoToken(development, 'acme-manager');
    const context = await withSavedHeaders({
      Authorization: `Bearer ${token}`,
      'x-store-id': 'acme-downtown',
    });
    const page = await newPage(context, 'graphiql-pasted-token');
    const sentFrames: string[] = [];
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => sentFrames.push(String(payload))),
    );
    await page.goto(`${development.origin}/graphql`);
    await run(page);
    await placeOrderUntilShown(development.httpUrl, await demoToken(development, 'acme-staff'), (order) =>
      response(page).getByText(order.id),
    );
    const init = sentFrames
      .map((frame) => JSON.parse(frame))
      .find((message) => message.type === 'connection_init');
    expect(init.payload).toEqual({ authorization: `Bearer ${token}`, storeId: 'acme-downtown' });
    await context.close();
  }, 180_000);

  it('a store the token does not allow (x-store-id) shows the 4403 refusal readably', async () => {
    const token = await demoToken(development, 'acme-staff'); // acme-downtown only
    const context = await withSavedHeaders({ Authorization: `Bearer ${token}`, 'x-store-id': 'acme-uptown' });
    const page = await newPage(context, 'graphiql-4403');
    await page.goto(`${development.origin}/graphql`);
    await expect.poll(() => editorText(page, 'request-headers.json'), PATIENCE).toContain('acme-uptown');
    await run(page);
    await response(page).getByText('WebSocket closed with 4403 Forbidden').waitFor();
    const shown = await responseText(page);
    expect(shown).toContain('"closeCode": 4403');
    expect(shown).toContain('x-store-id');
    expect(shown).not.toContain('isTrusted');
    await context.close();
  }, 180_000);
});

describe('GraphiQL with NODE_ENV=production (GRAPHIQL=true, INTROSPECTION=true)', () => {
  it('offers no demo sign-in, and its refusals point at a token from the identity provider', async () => {
    const { context, page } = await openGraphiQL(production, 'graphiql-production');
    await expect(page.locator('#demo-sign-in').count()).resolves.toBe(0);
    await expect(page.locator('#demo-user').count()).resolves.toBe(0);
    expect(await page.locator('#token-hint').textContent()).toContain('Headers tab');
    await run(page);
    await response(page).getByText('WebSocket closed with 4401 Unauthorized').waitFor();
    const shown = await responseText(page);
    expect(shown).toContain('identity provider');
    expect(shown).not.toContain('Sign in');
    await close(context);

    // With a token, the document text is what production refuses (trusted documents), readably too; GraphiQL's
    // introspection is text as well, and passes: the schema explorer and autocompletion keep working.
    const token = await tokenForDemoUser('acme-manager', { secret: 'a-real-production-secret' });
    const signedIn = await withSavedHeaders({ Authorization: `Bearer ${token}` });
    const page2 = await newPage(signedIn, 'graphiql-production-trusted');
    const introspection = page2.waitForResponse(
      (answer) =>
        new URL(answer.url()).pathname === '/graphql' && /__schema/.test(answer.request().postData() ?? ''),
    );
    await page2.goto(`${production.origin}/graphql`);
    expect(await (await introspection).json()).toMatchObject({
      data: { __schema: { queryType: { name: 'Query' }, subscriptionType: { name: 'Subscription' } } },
    });
    await run(page2);
    await expect.poll(() => responseText(page2), PATIENCE).toContain('PERSISTED_QUERY_ID_REQUIRED');
    expect(await responseText(page2)).toContain('TRUSTED_DOCUMENTS=allow');
    await close(signedIn);
  }, 180_000);
});
