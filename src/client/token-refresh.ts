/**
 * Renewing a live connection's token before it expires, without closing the socket: the server's
 * `refreshConnectionToken` mutation, sent over the connection itself (docs/clients.md "Token refresh").
 */

/**
 * The mutation, as `RefreshConnectionToken` in src/client/operations/mutations.graphql prints in the codegen
 * manifest the server registers, and its sha256: sent by hash, so it runs where only trusted documents do
 * (TRUSTED_DOCUMENTS=require). test/client/token-refresh.test.ts keeps the three in step.
 */
export const REFRESH_CONNECTION_TOKEN =
  'mutation RefreshConnectionToken($token: String!) { refreshConnectionToken(token: $token) { expiresAt userId } }';
export const REFRESH_CONNECTION_TOKEN_HASH =
  '3b16ceee3fff61e5d6dae5050de234244857e9bc1b656a56db7e77c085956486';

/** Share of a token's remaining lifetime after which it is renewed: between these two, at random. */
const EARLIEST = 0.5;
const LATEST = 0.7;

/** The `exp` claim of a JWT in milliseconds since epoch, or undefined (not a JWT, or no `exp`). Not verified. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When to renew a token that expires at `expiresAt`: after 50 to 70 % of its remaining lifetime, so a fleet of
 * screens given tokens at the same moment does not renew them in the same moment either.
 */
export function refreshDelay(expiresAt: number, now: number, random: () => number): number {
  const remaining = Math.max(0, expiresAt - now);
  return Math.floor(remaining * (EARLIEST + (LATEST - EARLIEST) * random()));
}

export interface TokenRefreshOptions {
  /** A new token (the client's `getToken({ refresh: true })`). */
  getToken(): Promise<string | null | undefined>;
  /** Sends the mutation over the current connection; resolves with its result's new expiry (ms), rejects on any error. */
  send(token: string): Promise<number | undefined>;
  /** The refresh failed: drop the connection and resume on a new one (with a new token). */
  fallBack(error: unknown): void;
  random?: () => number;
}

/**
 * One connection's renewals. `connected(token)` arms a timer from the token's expiry; when it fires, a new
 * token is sent over the connection and the timer is armed again from the new expiry. Any failure (no token,
 * a refusal, a lost connection) falls back to reconnecting, which resumes every subscription from its cursor.
 * `closed()` disarms it: renewals belong to one connection, and the next one starts with a token of its own.
 */
export class TokenRefresh {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Increments per connection, so a renewal that outlives its connection does nothing. */
  private generation = 0;
  /** Renewals completed (tests and diagnostics). */
  renewals = 0;

  constructor(private readonly options: TokenRefreshOptions) {}

  connected(token: string | undefined): void {
    this.closed();
    const expiresAt = token ? tokenExpiry(token) : undefined;
    if (expiresAt !== undefined) this.arm(expiresAt, this.generation);
  }

  closed(): void {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(expiresAt: number, generation: number): void {
    const delay = refreshDelay(expiresAt, Date.now(), this.options.random ?? Math.random);
    this.timer = setTimeout(() => void this.renew(generation), delay);
    // A timer must not keep Node alive on its own (browsers have no unref).
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async renew(generation: number): Promise<void> {
    try {
      const token = await this.options.getToken();
      if (!token) throw new Error('No token to renew the connection with');
      if (generation !== this.generation) return;
      const expiresAt = (await this.options.send(token)) ?? tokenExpiry(token);
      if (generation !== this.generation) return;
      this.renewals += 1;
      if (expiresAt !== undefined) this.arm(expiresAt, generation);
    } catch (error) {
      if (generation === this.generation) this.options.fallBack(error);
    }
  }
}
