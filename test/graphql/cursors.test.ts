import { randomUUID } from 'node:crypto';
import { startTestGateway, type TestGateway } from '../support/harness';

type Page = { nodes: Array<{ id?: string; eventId?: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/**
 * Every connection pages with the same opaque cursor (src/graphql/cursor.ts), and refuses what
 * is not one of its own cursors the same way: BAD_USER_INPUT naming `after`.
 */
describe('cursor pagination, one format for every connection', () => {
  let gateway: TestGateway;
  let admin: string;
  const customer = `c-cursor-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = (await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' })).key;
    for (let i = 0; i < 3; i++) await gateway.newKey();
    // Five scores of one customer, two of them at the same event time (the event id breaks the tie).
    const times = ['2026-11-24T10:00:00Z', '2026-11-24T10:01:00Z', '2026-11-24T10:01:00Z', '2026-11-24T10:02:00Z', '2026-11-24T10:03:00Z'];
    for (const [i, time] of times.entries()) {
      await gateway.services.db.sql.query(
        `INSERT INTO risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at) VALUES ($1, $2, $3, 'LOW', '[]', 'test', $4, now())`,
        [randomUUID(), customer, 10 + i, time],
      );
    }
  });
  afterAll(() => gateway?.stop());

  const CONNECTIONS = {
    accounts: { query: `query($after: String) { accounts(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`, field: 'accounts' },
    auditLog: { query: `query($after: String) { auditLog(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`, field: 'auditLog' },
    riskHistory: {
      query: `query($after: String) { riskHistory(customerId: "${customer}", first: 2, after: $after) { nodes { eventId } pageInfo { hasNextPage endCursor } } }`,
      field: 'riskHistory',
    },
    stripeEvents: {
      query: `query($after: String) { stripeEvents(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
      field: 'stripeEvents',
    },
  } as const;
  type Name = keyof typeof CONNECTIONS;

  const pageOf = async (name: Name, after: string | null) => {
    const { query, field } = CONNECTIONS[name];
    const response = await gateway.query(query, { key: admin, variables: { after } });
    return {
      status: response.status,
      errors: response.body.errors as Array<{ extensions: Record<string, unknown> }> | undefined,
      page: response.body.data?.[field] as Page | undefined,
    };
  };

  /** Every node of a connection, page by page. */
  const all = async (name: Name) => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const { page } = await pageOf(name, after);
      seen.push(...page!.nodes.map((node) => node.id ?? node.eventId!));
      if (!page!.pageInfo.hasNextPage) return seen;
      after = page!.pageInfo.endCursor;
    }
    throw new Error(`${name} did not end`);
  };

  it('pages through accounts, the audit log and a customer’s history without a node twice or missing', async () => {
    const accounts = await all('accounts');
    expect(accounts.length).toBe(4);
    expect(new Set(accounts).size).toBe(4);
    const audit = await all('auditLog');
    expect(audit.length).toBeGreaterThanOrEqual(8); // an account and a key created, four times
    expect(new Set(audit).size).toBe(audit.length);
    const history = await all('riskHistory');
    const [expected] = [
      await gateway.services.db.sql.query<{ event_id: string }>(
        `SELECT event_id FROM risk_scores WHERE customer_id = $1 ORDER BY event_time DESC, event_id DESC`,
        [customer],
      ),
    ];
    expect(history).toEqual(expected.map((row) => row.event_id));
  });

  it('refuses a cursor that is not one, or is another connection’s, with BAD_USER_INPUT on `after`', async () => {
    const accountsCursor = (await pageOf('accounts', null)).page!.pageInfo.endCursor!;
    const historyCursor = (await pageOf('riskHistory', null)).page!.pageInfo.endCursor!;
    const refusals: Array<[Name, string]> = [
      ['accounts', 'not-a-cursor'],
      ['auditLog', historyCursor],
      ['riskHistory', accountsCursor],
      ['riskHistory', Buffer.from('[1e999,"x"]').toString('base64url')],
      ['stripeEvents', accountsCursor],
      ['accounts', Buffer.from('["not-a-uuid"]').toString('base64url')],
    ];
    for (const [name, after] of refusals) {
      const { status, errors } = await pageOf(name, after);
      expect({ name, after, status, extensions: errors?.[0].extensions }).toEqual({
        name,
        after,
        status: 400,
        extensions: { code: 'BAD_USER_INPUT', fields: ['after'] },
      });
    }
  });

  it('names the argument a risk query refuses the way every other error does, in `fields`', async () => {
    const response = await gateway.query(`{ riskHistory(customerId: "${customer}", first: 0) { nodes { eventId } } }`, { key: admin });
    expect(response.body.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', fields: ['first'] });
  });
});
