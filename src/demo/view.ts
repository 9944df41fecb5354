import type { CombinedError } from '@urql/core';
import type { StoreCatalogQuery } from '../client/gql/graphql';

/** What the live demo's panels share (browser code): the page's elements, money, clocks, status and errors. */

export const TOKEN_KEY = 'expediter-token';

export type Store = StoreCatalogQuery['store'];
export type Money = (cents: number) => string;

export const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function setStatus(state: 'live' | 'reconnecting' | 'error') {
  const status = element('status');
  status.dataset.state = state;
  status.textContent = state;
}

/** A refused token ends the session: the next visit signs in again. */
export function showError(error: CombinedError | string) {
  const unauthenticated =
    typeof error !== 'string' &&
    (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') ||
      (error.networkError as { code?: string } | undefined)?.code === 'UNAUTHENTICATED');
  if (unauthenticated) {
    sessionStorage.removeItem(TOKEN_KEY);
    setStatus('error');
  }
  const shown = element('error');
  shown.hidden = false;
  const message = typeof error === 'string' ? error : error.message.replace(/^\[(GraphQL|Network)\] /, '');
  shown.textContent = unauthenticated ? `${message}. Reload the page to sign in again.` : message;
}

export function hideError() {
  element('error').hidden = true;
}

export function clock(seconds: number) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
