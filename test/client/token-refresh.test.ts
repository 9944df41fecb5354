import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  REFRESH_CONNECTION_TOKEN,
  REFRESH_CONNECTION_TOKEN_HASH,
  refreshDelay,
  TokenRefresh,
  tokenExpiry,
} from '../../src/client/token-refresh';

/** An unsigned JWT with the given claims: the client reads `exp`, it never verifies. */
const jwt = (claims: Record<string, unknown>) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;

describe('the refresh mutation', () => {
  it('is the trusted document of src/client/operations, under its hash', () => {
    const manifest = JSON.parse(readFileSync('src/client/gql/persisted-documents.json', 'utf8')) as Record<
      string,
      string
    >;
    expect(manifest[`sha256:${REFRESH_CONNECTION_TOKEN_HASH}`]).toBe(REFRESH_CONNECTION_TOKEN);
    expect(createHash('sha256').update(REFRESH_CONNECTION_TOKEN).digest('hex')).toBe(
      REFRESH_CONNECTION_TOKEN_HASH,
    );
  });
});

describe('tokenExpiry', () => {
  it("reads a JWT's exp in milliseconds", () => {
    expect(tokenExpiry(jwt({ sub: 'u', exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
    // base64url characters and missing padding
    expect(tokenExpiry(jwt({ name: '??>>??', exp: 1 }))).toBe(1000);
  });

  it('is undefined for tokens it cannot read', () => {
    for (const token of ['opaque-token', 'a.b.c', jwt({ exp: 'soon' }), jwt({ sub: 'u' }), '']) {
      expect(tokenExpiry(token)).toBeUndefined();
    }
  });
});

describe('refreshDelay', () => {
  it('renews after 50 to 70 % of the remaining lifetime, never after expiry', () => {
    const now = 1_000_000;
    expect(refreshDelay(now + 10_000, now, () => 0)).toBe(5000);
    expect(refreshDelay(now + 10_000, now, () => 1)).toBe(7000);
    expect(refreshDelay(now + 10_000, now, () => 0.5)).toBe(6000);
    expect(refreshDelay(now - 5000, now, () => 0.5)).toBe(0);
  });
});

describe('TokenRefresh', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

  function setup(send: (token: string) => Promise<number | undefined>) {
    const sent: string[] = [];
    const fallBacks: unknown[] = [];
    let minted = 0;
    const refresh = new TokenRefresh({
      getToken: async () => jwt({ n: ++minted, exp: inSeconds(10) }),
      send: async (token) => {
        sent.push(token);
        return send(token);
      },
      fallBack: (error) => fallBacks.push(error),
      random: () => 0.5,
    });
    return { refresh, sent, fallBacks };
  }

  it('renews before expiry over the connection, then again from the new expiry', async () => {
    const { refresh, sent, fallBacks } = setup(async () => undefined); // expiry read from the new token
    refresh.connected(jwt({ exp: inSeconds(10) }));
    await vi.advanceTimersByTimeAsync(5999);
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(6000);
    expect(sent).toHaveLength(2);
    expect(refresh.renewals).toBe(2);
    expect(fallBacks).toEqual([]);
  });

  it('uses the expiry the server confirmed', async () => {
    const { refresh, sent } = setup(async () => Date.now() + 20_000);
    refresh.connected(jwt({ exp: inSeconds(10) }));
    await vi.advanceTimersByTimeAsync(6000);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(11_999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
  });

  it('falls back to reconnecting when the server refuses the token', async () => {
    const refusal = new Error('refused');
    const { refresh, fallBacks } = setup(async () => {
      throw refusal;
    });
    refresh.connected(jwt({ exp: inSeconds(10) }));
    await vi.advanceTimersByTimeAsync(6000);
    expect(fallBacks).toEqual([refusal]);
    expect(refresh.renewals).toBe(0);
  });

  it('does nothing for a connection that closed meanwhile, or a token without expiry', async () => {
    let answer: (value: number | undefined) => void = () => {};
    const { refresh, sent, fallBacks } = setup(() => new Promise((resolve) => (answer = resolve)));
    refresh.connected(jwt({ exp: inSeconds(10) }));
    await vi.advanceTimersByTimeAsync(6000);
    expect(sent).toHaveLength(1);
    refresh.closed(); // the socket dropped while the renewal was in flight
    answer(undefined);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(1);
    expect(fallBacks).toEqual([]);

    refresh.connected('opaque-token');
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(sent).toHaveLength(1);
  });
});
