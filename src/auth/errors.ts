export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'alg_not_allowed'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'bad_claims'
  | 'revoked'
  | 'store_not_allowed'
  | 'unknown_key';

/** graphql-ws close codes: Unauthorized (token problems) and Forbidden (valid token, store not allowed). */
export type AuthCloseCode = 4401 | 4403;

/**
 * What clients read. Fixed strings: they never echo the token, a claim value or a library message,
 * so nothing about keys, configuration or internals leaks.
 */
const CLIENT_MESSAGES: Record<AuthFailureReason, string> = {
  missing: 'Authentication required',
  malformed: 'Malformed credentials',
  bad_signature: 'Invalid token',
  alg_not_allowed: 'Invalid token',
  expired: 'Token expired',
  not_yet_valid: 'Token not yet valid',
  wrong_issuer: 'Invalid token',
  wrong_audience: 'Invalid token',
  bad_claims: 'Invalid token claims',
  revoked: 'Token revoked',
  store_not_allowed: 'Store not allowed',
  unknown_key: 'Invalid token',
};

export class AuthError extends Error {
  override name = 'AuthError';
  readonly closeCode: AuthCloseCode;

  /** `cause` is for operators' logs only (e.g. a JWKS fetch failure); it is never sent to clients. */
  constructor(
    readonly reason: AuthFailureReason,
    options: { cause?: unknown } = {},
  ) {
    super(CLIENT_MESSAGES[reason], options);
    this.closeCode = reason === 'store_not_allowed' ? 4403 : 4401;
  }
}
