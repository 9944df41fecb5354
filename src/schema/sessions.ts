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
  t.field({
    type: RevokedSessions,
    description:
      "Refuses every token the user holds that was issued before now and ends the user's live sessions (sockets, SSE streams) on every instance. Admins may revoke anyone in their tenant; managers STAFF and KITCHEN users whose stores are all theirs; everyone themselves.",
    args: { userId: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: (_root, args, ctx) => ctx.services.sessions.revokeSessions(ctx.principal!, String(args.userId)),
  }),
);
