import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server';

describe('error codes', () => {
  let app: TestServer;
  let token: string;
  beforeAll(async () => {
    app = await startTestServer();
    token = await app.token('acme-manager');
  });
  afterAll(() => app?.close());

  it('puts extensions.code on validation and parse errors, over HTTP and WebSocket', async () => {
    const invalid = await app.gql('{ me { noSuchField } }', {}, { token });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unparsable = await app.gql('{ me { ', {}, { token });
    expect(unparsable.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');

    const client = await app.connect(token);
    const overSocket = client.subscribe('subscription { orderUpdated(storeId: "acme-downtown") { nope } }');
    await expect(overSocket.next()).rejects.toMatchObject({
      errors: [
        {
          message: 'Cannot query field "nope" on type "OrderEvent".',
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ],
    });
    await client.dispose();
  });

  it('masks an unexpected failure as INTERNAL_SERVER_ERROR without its internals', async () => {
    const db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    try {
      await db.query('ALTER TABLE "DashboardSnapshot" RENAME TO "DashboardSnapshotGone"');
      const result = await app.gql(
        'query ($from: DateTime!, $to: DateTime!) { dashboardHistory(storeId: "acme-downtown", from: $from, to: $to) { takenAt } }',
        { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() },
        { token },
      );
      expect(result.errors?.[0]).toMatchObject({
        message: 'Unexpected error.',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(result)).not.toMatch(/DashboardSnapshot|relation|prisma|stack/i);
    } finally {
      await db.query('ALTER TABLE "DashboardSnapshotGone" RENAME TO "DashboardSnapshot"');
      await db.end();
    }
  });
});
