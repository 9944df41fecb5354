import { DomainError } from '../errors';
import { builder } from './builder';

const RevokedSessions = builder
  .objectRef<{ userId: string; revokedAt: string }>('RevokedSessions')
  .implement({
    fields: (t) => ({
      userId: t.exposeID('userId'),
      revokedAt: t.field({ type: 'DateTime', resolve: (r) => r.revokedAt }),
    }),
  });

builder.mutationField('revokeSessions', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: RevokedSessions,
    description:
      "Refuses every token the user holds that was issued before now and ends the user's live sessions (sockets, SSE streams) on every instance. Admins may revoke anyone in their tenant; managers STAFF and KITCHEN users whose stores are all theirs; everyone themselves.",
    args: { userId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.sessions.revokeSessions(ctx.principal, String(args.userId)),
  }),
);

const ConnectionSession = builder
  .objectRef<{ userId: string; expiresAt: number | undefined }>('ConnectionSession')
  .implement({
    description: "A connection's session after its token was replaced.",
    fields: (t) => ({
      userId: t.exposeID('userId'),
      expiresAt: t.field({
        type: 'DateTime',
        description: 'When the connection closes with 4401 unless its token is replaced again.',
        resolve: (session) => new Date((session.expiresAt ?? 0) * 1000),
      }),
    }),
  });

builder.mutationField('refreshConnectionToken', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: ConnectionSession,
    description:
      "Replaces the token of the graphql-ws connection this is sent over, without closing it: same user and tenant, valid, expiring later, and allowing at least the connection's stores, roles and stations. A refused token changes nothing. Over HTTP: BAD_USER_INPUT (send the new token with the next request; SSE streams reconnect with it and their cursor).",
    args: { token: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      if (!ctx.connection) {
        throw new DomainError(
          'BAD_USER_INPUT',
          'refreshConnectionToken renews a WebSocket connection: over HTTP, send the new token with the next request',
          { field: 'token' },
        );
      }
      const principal = await ctx.connection.refreshToken(args.token);
      return { userId: principal.userId, expiresAt: principal.expiresAt };
    },
  }),
);
