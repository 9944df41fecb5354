import { canRevokeSessionsOf, mayRevokeOthers } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { RevocationStore } from '../auth/revocation';
import type { Db } from '../db/types';
import { forbidden, notFound } from '../errors';

/**
 * Ends a user's sessions everywhere: tokens issued before now are refused and live sessions end (sockets close,
 * SSE streams end). Admins may revoke anyone in their tenant, managers their stores' STAFF and KITCHEN users,
 * everyone themselves.
 */
export class SessionService {
  constructor(private readonly deps: { db: Db; revocations: RevocationStore }) {}

  async revokeSessions(principal: Principal, userId: string): Promise<{ userId: string; revokedAt: string }> {
    if (!mayRevokeOthers(principal) && principal.userId !== userId)
      throw forbidden('Only admins and managers may revoke other users');
    const user = await this.deps.db.user.findFirst({
      where: { id: userId, tenantId: principal.tenantId },
      select: { id: true, roles: true, storeIds: true },
    });
    if (!user) throw notFound('User', userId);
    if (!canRevokeSessionsOf(principal, user)) {
      throw forbidden('Managers revoke STAFF and KITCHEN users of their own stores only');
    }
    const now = new Date();
    await this.deps.db.user.update({ where: { id: user.id }, data: { sessionsRevokedAt: now } });
    await this.deps.revocations.revokeUser(principal.tenantId, userId, Math.floor(now.getTime() / 1000));
    return { userId, revokedAt: now.toISOString() };
  }
}
