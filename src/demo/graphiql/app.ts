import { tag } from '../dom';
import {
  DEFAULT_SCOPE,
  EXAMPLES,
  type ExampleScope,
  exampleUrl,
  LIVE_ORDERS,
  shareableUrl,
} from './examples';
import { createGraphiQLFetcher, type SubscriptionTransport } from './fetcher';
import type { DemoSignInUser, GraphiQLPageConfig } from './page';

/**
 * Expediter's part of the GraphiQL page (browser code): the bar above GraphiQL (demo sign-in, examples,
 * subscription transport), the fetcher, and an address that always links to the current document and
 * its variables. Yoga's GraphiQL bundle (loaded before this script) renders GraphiQL itself.
 */

declare const YogaGraphiQL: {
  renderYogaGraphiQL(root: Element, options: Record<string, unknown>): void;
};

interface DemoSession {
  user: DemoSignInUser;
  token: string;
  expiresAt: string;
}

/** Where GraphiQL keeps the Headers tab it last saw (GraphiQL's own key). */
const GRAPHIQL_HEADERS_KEY = 'graphiql:headers';
const SESSION_KEY = 'expediter:graphiql:demo-session';
const TRANSPORT_KEY = 'expediter:graphiql:transport';

const config = JSON.parse(
  document.getElementById('expediter-graphiql-config')?.textContent ?? '{}',
) as GraphiQLPageConfig;
const endpoint = `${location.origin}${location.pathname}`;
let session = restoreSession();

const bar = document.getElementById('expediter-bar')!;
const examples = tag('details', { id: 'examples' });
const transport = transportPicker();
bar.append(tag('strong', {}, 'Expediter'), signInControls(), examples, transport.element);
renderExamples();

const fetcher = createGraphiQLFetcher({
  httpUrl: endpoint,
  wsUrl: endpoint.replace(/^http/, 'ws'),
  transport: transport.value,
  refusals: { demoSignIn: config.demoUsers !== null },
});

// The address bar links to what is in the editors: yoga writes `query` (and reads it only when no
// `query` option is given), this page reads both and adds `variables`.
const address = new URL(location.href);
const linked = address.searchParams.get('query');
const editing = {
  query: linked ?? LIVE_ORDERS.document,
  variables:
    address.searchParams.get('variables') ??
    (linked ? '' : JSON.stringify(LIVE_ORDERS.variables(scope()), null, 2)),
};
YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root')!, {
  ...config.graphiql,
  query: editing.query,
  variables: editing.variables,
  fetcher,
  onEditQuery: (query: string) => {
    editing.query = query;
    linkToEditors();
  },
  onEditVariables: (variables: string) => {
    editing.variables = variables;
    linkToEditors();
  },
  // A tab without a token of its own gets the signed-in user's (GraphiQL keeps headers per tab).
  onTabChange: () => setTimeout(() => session && !hasAuthorization() && setAuthorization(session.token)),
});

function linkToEditors() {
  history.replaceState(history.state, '', shareableUrl(location.href, editing.query, editing.variables));
}

function signInControls(): HTMLElement {
  const users = config.demoUsers;
  if (!users)
    return tag(
      'span',
      { id: 'token-hint' },
      'Token: put {"Authorization": "Bearer <token>"} in the Headers tab',
    );
  const picker = tag(
    'select',
    { id: 'demo-user', 'aria-label': 'Demo user' },
    ...users.map((user) => tag('option', { value: user.id }, `${user.id} (${user.roles.join(', ')})`)),
  );
  picker.value = session?.user.id ?? 'acme-manager';
  const signIn = tag('button', { id: 'demo-sign-in', type: 'button' }, 'Sign in');
  const signOut = tag('button', { id: 'demo-sign-out', type: 'button' }, 'Sign out');
  const status = tag('span', { id: 'sign-in-status' });
  const show = () => {
    signOut.hidden = !session;
    status.dataset.state = session ? 'signed-in' : 'signed-out';
    status.textContent = session
      ? `Signed in as ${session.user.id} until ${new Date(session.expiresAt).toLocaleTimeString()}`
      : 'Not signed in (demo users, development only)';
  };
  signIn.addEventListener('click', async () => {
    signIn.disabled = true;
    try {
      session = await requestDemoToken(picker.value);
      localStorage.setItem(SESSION_KEY, JSON.stringify(session));
      setAuthorization(session.token);
      renderExamples();
      show();
    } catch (error) {
      status.dataset.state = 'error';
      status.textContent = (error as Error).message;
    } finally {
      signIn.disabled = false;
    }
  });
  signOut.addEventListener('click', () => {
    session = undefined;
    localStorage.removeItem(SESSION_KEY);
    setAuthorization(undefined);
    renderExamples();
    show();
  });
  show();
  return tag('span', { class: 'sign-in' }, picker, signIn, status, signOut);
}

async function requestDemoToken(userId: string): Promise<DemoSession> {
  const response = await fetch(config.signInPath, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: userId }),
  });
  const body = (await response.json().catch(() => ({}))) as Partial<DemoSession> & {
    error?: { message?: string };
  };
  if (!response.ok || !body.token || !body.user || !body.expiresAt)
    throw new Error(body.error?.message ?? `Sign-in failed: HTTP ${response.status}`);
  return { token: body.token, user: body.user, expiresAt: body.expiresAt };
}

/** The session of an earlier visit, while its token is valid and its user still offered. */
function restoreSession(): DemoSession | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as DemoSession | null;
    const offered = config.demoUsers?.some((user) => user.id === saved?.user.id);
    if (saved && offered && Date.parse(saved.expiresAt) > Date.now()) return saved;
  } catch {
    // unreadable: start signed out
  }
  localStorage.removeItem(SESSION_KEY);
  return undefined;
}

function scope(): ExampleScope {
  return session?.user.scope ?? DEFAULT_SCOPE;
}

function renderExamples() {
  const links = EXAMPLES.map((example) =>
    tag(
      'li',
      {},
      tag('a', { href: exampleUrl(endpoint, example, scope()), 'data-example': example.name }, example.title),
      tag('small', {}, example.kind),
    ),
  );
  examples.replaceChildren(tag('summary', {}, 'Examples'), tag('ul', {}, ...links));
}

function transportPicker() {
  const select = tag(
    'select',
    { id: 'subscription-transport', 'aria-label': 'Subscriptions over' },
    tag('option', { value: 'ws' }, 'WebSocket'),
    tag('option', { value: 'sse' }, 'SSE'),
  );
  select.value = localStorage.getItem(TRANSPORT_KEY) === 'sse' ? 'sse' : 'ws';
  select.addEventListener('change', () => localStorage.setItem(TRANSPORT_KEY, select.value));
  return {
    element: tag('label', {}, 'Subscriptions over ', select),
    value: () => select.value as SubscriptionTransport,
  };
}

interface TextModel {
  uri: { path: string };
  getValue(): string;
  setValue(value: string): void;
}

/**
 * The Headers tab's editor model. GraphiQL 5 exposes its Monaco instance as `globalThis.__MONACO`;
 * setting the model's text is what typing does (GraphiQL saves it to the tab and to storage).
 */
function headersModel(): TextModel | undefined {
  const monaco = (globalThis as { __MONACO?: { editor: { getModels(): TextModel[] } } }).__MONACO;
  return monaco?.editor.getModels().find((model) => model.uri.path.endsWith('request-headers.json'));
}

function currentHeaders(): Record<string, unknown> {
  try {
    const parsed = JSON.parse(
      headersModel()?.getValue() || localStorage.getItem(GRAPHIQL_HEADERS_KEY) || '{}',
    );
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function hasAuthorization(): boolean {
  return Object.keys(currentHeaders()).some((key) => key.toLowerCase() === 'authorization');
}

/** Puts `Authorization: Bearer <token>` in the Headers tab (or takes it out), keeping the other headers. */
function setAuthorization(token: string | undefined) {
  const others = Object.fromEntries(
    Object.entries(currentHeaders()).filter(([key]) => key.toLowerCase() !== 'authorization'),
  );
  const text = JSON.stringify(token ? { Authorization: `Bearer ${token}`, ...others } : others, null, 2);
  // Saved at once too (GraphiQL saves after a pause), so an example opened right away has the token.
  localStorage.setItem(GRAPHIQL_HEADERS_KEY, text);
  whenHeadersEditorReady((model) => model.setValue(text));
}

/** GraphiQL creates its editors once Monaco has loaded, which may be after a quick click on "Sign in". */
function whenHeadersEditorReady(use: (model: TextModel) => void) {
  const model = headersModel();
  if (model) return use(model);
  const started = Date.now();
  const poll = setInterval(() => {
    const ready = headersModel();
    if (ready) use(ready);
    if (ready || Date.now() - started > 30_000) clearInterval(poll);
  }, 100);
}
