import { z } from 'zod';
import { type Principal, ROLES } from './principal';

const id = z.string().min(1).max(200);
const epochSeconds = z.number().int().nonnegative();

/**
 * Expediter's claims on top of what jose already checked (signature, exp, nbf, iss, aud).
 * `stores` is either a list of store ids or exactly ["*"] (every store of the tenant): a "*" mixed
 * with ids is refused rather than guessed at.
 */
export const ClaimsSchema = z.object({
  sub: id,
  tid: id,
  roles: z.array(z.enum(ROLES)).min(1),
  stores: z.union([z.tuple([z.literal('*')]), z.array(id.refine((s) => s !== '*'))]),
  stations: z.array(id).optional(),
  exp: epochSeconds,
  /** Optional for tokens from an external issuer; a user revocation covers tokens without `iat`. */
  iat: epochSeconds.optional(),
  /** Optional for tokens from an external issuer; such tokens can only be revoked per user. */
  jti: id.optional(),
});

export type Claims = z.infer<typeof ClaimsSchema>;

/** Null when the payload does not have Expediter's claims. */
export function parseClaims(payload: unknown): Claims | null {
  const parsed = ClaimsSchema.safeParse(payload);
  return parsed.success ? parsed.data : null;
}

export function principalFromClaims(claims: Claims): Principal {
  return {
    userId: claims.sub,
    tenantId: claims.tid,
    roles: [...new Set(claims.roles)],
    stores: claims.stores[0] === '*' ? '*' : [...new Set(claims.stores)],
    stations: [...new Set(claims.stations ?? [])],
    tokenId: claims.jti,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
  };
}
