import { z } from 'zod';
import { guestUserId } from '../db/guests';
import { type Principal, ROLES } from './principal';

const id = z.string().min(1).max(200);
const epochSeconds = z.number().int().nonnegative();

/**
 * Expediter's claims on top of what jose already checked (signature, exp, nbf, iss, aud).
 * `stores` is either a list of store ids or exactly ["*"] (every store of the tenant): a "*" mixed
 * with ids is refused rather than guessed at.
 */
export const ClaimsSchema = z
  .object({
    sub: id,
    tid: id,
    roles: z.array(z.enum(ROLES)).min(1),
    stores: z.union([z.tuple([z.literal('*')]), z.array(id.refine((s) => s !== '*'))]),
    stations: z.array(id).optional(),
    /** A guest token's dining table (see isGuestClaims). */
    table: id.optional(),
    /**
     * The party seated at that table when the token was issued (issueTableToken): the token ends with that
     * party. Tokens without it (the token command reads no database) end by the second they were issued.
     */
    seating: id.optional(),
    exp: epochSeconds,
    /** Optional for tokens from an external issuer; a user revocation covers tokens without `iat`. */
    iat: epochSeconds.optional(),
    /** Optional for tokens from an external issuer; such tokens can only be revoked per user. */
    jti: id.optional(),
  })
  .refine((claims) => claims.table === undefined || isGuestClaims(claims), {
    message: 'a table claim is for guest tokens only',
  })
  .refine((claims) => claims.seating === undefined || claims.table !== undefined, {
    message: 'a seating claim needs a table claim',
  });

/**
 * A guest token at a table: the claim `table`, the role CUSTOMER and nothing else, the table's store only, no
 * stations, and the table's guest user id as `sub` (how seating the next party ends it).
 */
function isGuestClaims(claims: {
  sub: string;
  roles: readonly string[];
  stores: readonly string[];
  stations?: readonly string[];
  table?: string;
}): boolean {
  return (
    claims.table !== undefined &&
    claims.sub === guestUserId(claims.table) &&
    claims.roles.length === 1 &&
    claims.roles[0] === 'CUSTOMER' &&
    claims.stores.length === 1 &&
    claims.stores[0] !== '*' &&
    (claims.stations ?? []).length === 0
  );
}

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
    ...(claims.table !== undefined && { table: claims.table }),
    ...(claims.seating !== undefined && { seating: claims.seating }),
    tokenId: claims.jti,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
  };
}
