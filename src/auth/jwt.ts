import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTClaimVerificationOptions,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type ProtectedHeaderParameters,
  UnsecuredJWT,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';
import { parseClaims, principalFromClaims } from './claims';
import { AuthError, type AuthFailureReason } from './errors';
import type { Principal } from './principal';

export interface TokenVerifier {
  /** Resolves to the caller, or rejects with an AuthError saying why the token is refused. */
  verify(token: string): Promise<Principal>;
}

/**
 * Clock skew tolerated for `nbf` and `iat` only: a token from an issuer whose clock runs a little ahead is
 * not refused as not yet valid. `exp` has no leeway (see tokenExpired).
 */
export const CLOCK_TOLERANCE_SECONDS = 5;
/** Far above any real token; refuses megabyte "tokens" before any parsing work. */
const MAX_TOKEN_LENGTH = 8192;
const SECRET_ALGORITHMS = ['HS256'];
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

/** Verified tokens remembered per instance (a reconnect, every HTTP request of a client, reuse one token). */
const VERIFIED_TOKEN_CACHE = {
  /** Tokens remembered at most. */
  max: 10_000,
  /** Characters of token text remembered at most (tokens may be up to MAX_TOKEN_LENGTH long). */
  maxChars: 8 * 1024 * 1024,
  /**
   * Longest a verification is trusted, however far the token's `exp`: a key withdrawn from a JWKS stops
   * verifying tokens within this (jose's own key-set cache keeps a fetched set for up to 10 minutes).
   */
  maxTrustMs: 5 * 60_000,
} as const;

interface Verified {
  principal: Principal;
  /** Epoch ms until which the token is accepted without verifying it again: before its `exp`. */
  until: number;
}

/**
 * Pins algorithms per key source: HS256 only against the secret, RS256/ES256 only against the JWKS.
 * So `alg: none` is never accepted and a token cannot pick its own verification method (an HS256
 * token "signed" with a JWKS public key is refused as alg_not_allowed, or fails against the secret
 * when both sources are configured).
 *
 * A token verified once is remembered until its `exp` (at most VERIFIED_TOKEN_CACHE.maxTrustMs): verifying it
 * again would give the same principal, since nothing a verification checks changes while the token is valid
 * (signature, issuer, audience; `nbf` and `iat` only become true). Expiry is checked on every use; revocation
 * is not the verifier's, and authenticate asks it every time.
 */
export function createTokenVerifier(jwtConfig: Config['jwt']): TokenVerifier {
  const secret = jwtConfig.secret ? Buffer.from(jwtConfig.secret, 'utf8') : undefined;
  const jwks = loadJwks(jwtConfig);
  if (!secret && !jwks) throw new Error('JWT verification needs a secret, a JWKS URL or a JWKS file');

  const algorithms = [...(secret ? SECRET_ALGORITHMS : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  const claimRules: JWTClaimVerificationOptions = {
    issuer: jwtConfig.issuer,
    audience: jwtConfig.audience,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp'],
  };
  // HS256 tokens never reach jose's verification (see verifyHs256); the key set's do.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!jwks) throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw error;
      throw new KeySetUnavailableError(error);
    }
  };

  async function verifiedPayload(token: string): Promise<JWTPayload> {
    const header = secret && decodeProtectedHeader(token);
    if (secret && header && header.alg === 'HS256') return verifyHs256(token, header, secret, claimRules);
    return (await jwtVerify(token, getKey, { ...claimRules, algorithms })).payload;
  }

  const verified = new LRUCache<string, Verified>({
    max: VERIFIED_TOKEN_CACHE.max,
    maxSize: VERIFIED_TOKEN_CACHE.maxChars,
    sizeCalculation: (_value, token) => token.length,
  });

  return {
    async verify(token) {
      if (token.length === 0) throw new AuthError('missing');
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('malformed');
      const known = verified.get(token);
      if (known) {
        if (Date.now() < known.until) return known.principal;
        verified.delete(token);
        if (tokenExpired(known.principal.expiresAt ?? 0)) throw new AuthError('expired');
      }
      let payload: JWTPayload;
      try {
        payload = await verifiedPayload(token);
      } catch (error) {
        throw new AuthError(reasonForJoseError(error), { cause: error });
      }
      const claims = parseClaims(payload);
      if (!claims) throw new AuthError('bad_claims');
      // jose's clockTolerance also extends `exp`; the rule for every transport is tokenExpired's.
      if (tokenExpired(claims.exp)) throw new AuthError('expired');
      // jose checks `iat` only with maxTokenAge; a future `iat` would also slip past user revocations.
      if (claims.iat !== undefined && claims.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
        throw new AuthError('not_yet_valid');
      }
      // Shared by every caller of the same token: nobody may change it.
      const principal = frozen(principalFromClaims(claims));
      verified.set(token, {
        principal,
        until: Math.min(claims.exp * 1000, Date.now() + VERIFIED_TOKEN_CACHE.maxTrustMs),
      });
      return principal;
    },
  };
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** The header of an unsecured JWT: what hands an already verified payload to jose's claim checks. */
const NO_SIGNATURE_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

/**
 * HS256 with node:crypto's HMAC, synchronously. Through jose every verification is a WebCrypto job on the
 * libuv thread pool (about 130 µs a token under load, most of it scheduling, against a few µs of HMAC). The
 * checks are jose's: the header as jose parses it (no `crit`, which jose would only accept for `b64`), the
 * signature compared in constant time against its canonical base64url encoding, then the payload through
 * jose's own claim validation (UnsecuredJWT.decode runs the same validateClaimsSet as jwtVerify).
 */
function verifyHs256(
  token: string,
  protectedHeader: ProtectedHeaderParameters,
  secret: Buffer,
  claimRules: JWTClaimVerificationOptions,
): JWTPayload {
  const parts = token.split('.');
  const [header, payload, signature] = parts as [string, string, string];
  if (
    parts.length !== 3 ||
    !BASE64URL.test(header) ||
    !BASE64URL.test(payload) ||
    !BASE64URL.test(signature)
  ) {
    throw new errors.JWSInvalid('Invalid Compact JWS');
  }
  if (protectedHeader.crit !== undefined) {
    throw new errors.JWSInvalid('"crit" (Critical) Header Parameter not supported');
  }
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (
    given.length !== expected.length ||
    !timingSafeEqual(given, expected) ||
    given.toString('base64url') !== signature
  ) {
    throw new errors.JWSSignatureVerificationFailed();
  }
  return UnsecuredJWT.decode(`${NO_SIGNATURE_HEADER}.${payload}.`, claimRules).payload;
}

function frozen(principal: Principal): Principal {
  for (const value of Object.values(principal)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(principal);
}

/**
 * The one expiry rule, for HTTP requests, connection_init and live sessions alike: a token is valid before
 * its `exp` instant and refused from it on, with no leeway.
 */
export function tokenExpired(expiresAtSec: number, nowMs = Date.now()): boolean {
  return expiresAtSec * 1000 <= nowMs;
}

function loadJwks(jwtConfig: Config['jwt']): JWTVerifyGetKey | undefined {
  if (jwtConfig.jwksUrl) return createRemoteJWKSet(new URL(jwtConfig.jwksUrl));
  if (jwtConfig.jwksFile) {
    const keySet = JSON.parse(readFileSync(jwtConfig.jwksFile, 'utf8')) as JSONWebKeySet;
    return createLocalJWKSet(keySet);
  }
  return undefined;
}

/** The JWKS could not be fetched or used (network, HTTP status, bad JSON): an operator problem. */
export class KeySetUnavailableError extends Error {
  override name = 'KeySetUnavailableError';
  constructor(cause: unknown) {
    super('JSON Web Key Set unavailable', { cause });
  }
}

function reasonForJoseError(error: unknown): AuthFailureReason {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return reasonForClaim(error);
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'unknown_key';
  }
  // The token cannot be checked, so it is refused; the cause kept on the AuthError tells operators why.
  if (error instanceof KeySetUnavailableError || error instanceof errors.JWKInvalid) return 'unknown_key';
  return 'malformed';
}

function reasonForClaim(error: errors.JWTClaimValidationFailed): AuthFailureReason {
  switch (error.claim) {
    case 'nbf':
    case 'iat': // issued in the future, beyond the clock tolerance
      return 'not_yet_valid';
    case 'iss':
      return 'wrong_issuer';
    case 'aud':
      return 'wrong_audience';
    default:
      return 'bad_claims';
  }
}
