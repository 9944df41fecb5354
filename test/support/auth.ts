import { type JWTPayload, SignJWT } from 'jose';
import { AuthError } from '../../src/auth/errors';

/** Seconds since the epoch, as JWT claims count time. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An HS256 token with a jti, iat and exp (an hour from now unless given), signed with `secret`. */
export function signHs256(
  secret: string,
  payload: JWTPayload,
  opts: { jti?: string; iat?: number; exp?: number } = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .setJti(opts.jti ?? 'jti-1')
    .setIssuedAt(opts.iat ?? nowSeconds())
    .setExpirationTime(opts.exp ?? nowSeconds() + 3600)
    .sign(new TextEncoder().encode(secret));
}

/** The AuthError a verification or authentication is refused with; anything else fails the test. */
export async function authRefusal(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(error)}`);
  return error;
}
