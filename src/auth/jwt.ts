import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
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

/**
 * Pins algorithms per key source: HS256 only against the secret, RS256/ES256 only against the JWKS.
 * So `alg: none` is never accepted and a token cannot pick its own verification method (an HS256
 * token "signed" with a JWKS public key is refused as alg_not_allowed, or fails against the secret
 * when both sources are configured).
 */
export function createTokenVerifier(jwtConfig: Config['jwt']): TokenVerifier {
  // Imported once as a CryptoKey: jose would otherwise import the secret (bytes or KeyObject) on every verification.
  const secret = jwtConfig.secret
    ? webcrypto.subtle.importKey(
        'raw',
        Buffer.from(jwtConfig.secret, 'utf8'),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      )
    : undefined;
  const jwks = loadJwks(jwtConfig);
  if (!secret && !jwks) throw new Error('JWT verification needs a secret, a JWKS URL or a JWKS file');

  const algorithms = [...(secret ? SECRET_ALGORITHMS : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (secret && header.alg !== undefined && SECRET_ALGORITHMS.includes(header.alg)) return await secret;
    if (!jwks) throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw error;
      throw new KeySetUnavailableError(error);
    }
  };

  return {
    async verify(token) {
      if (token.length === 0) throw new AuthError('missing');
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('malformed');
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms,
          issuer: jwtConfig.issuer,
          audience: jwtConfig.audience,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp'],
        }));
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
      return principalFromClaims(claims);
    },
  };
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
