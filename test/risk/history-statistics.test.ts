import { Client } from 'pg';
import { applyMigrations } from '../../src/db/migrate';
import { createThrowawayDatabase, serviceUrl, type ThrowawayDatabase } from '../support/throwaway-database';

/**
 * The history grows by a row per event, so autovacuum analyses it about once a minute: each
 * ANALYZE must stay a small sample (3,000 rows), not the default 30,000 with a histogram of every
 * column (a quarter of a second of a core for 600,000 rows), and the indexed reads keep their plans.
 * Its keys compare byte for byte, whatever the database's collation: each row's place in its two
 * indexes is found by memcmp, not strcoll.
 */
describe('statistics and keys of the score history', () => {
  let database: ThrowawayDatabase;
  let client: Client;

  beforeAll(async () => {
    database = await createThrowawayDatabase(serviceUrl('DATABASE_URL'));
    await applyMigrations({ url: database.url });
    client = new Client({ connectionString: database.url });
    await client.connect();
    await client.query(`
      INSERT INTO risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at)
      SELECT gen_random_uuid()::text, 'c-' || (n % 2000), n % 1000, 'LOW', '[]', 'test', now() - n * interval '1 second', now()
      FROM generate_series(1, 40000) AS n`);
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('analyses a sample of 3,000 rows and keeps no statistics of the factors', async () => {
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    await client.query('ANALYZE VERBOSE risk_scores');
    expect(notices.join('\n')).toMatch(/40000 live rows .*; 3000 rows in sample/);
    const { rows } = await client.query<{ attname: string }>(`SELECT attname FROM pg_stats WHERE tablename = 'risk_scores' ORDER BY attname`);
    expect(rows.map((row) => row.attname)).toContain('customer_id');
    expect(rows.map((row) => row.attname)).not.toContain('factors');
  });

  it('compares event ids and customer ids byte for byte (collation "C"), with the same small statistics', async () => {
    const { rows } = await client.query<{ attname: string; collname: string; attstattarget: number }>(
      `SELECT a.attname, c.collname, a.attstattarget FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
       WHERE a.attrelid = 'risk_scores'::regclass AND a.attname IN ('event_id', 'customer_id') ORDER BY a.attname`,
    );
    expect(rows).toEqual([
      { attname: 'customer_id', collname: 'C', attstattarget: 10 },
      { attname: 'event_id', collname: 'C', attstattarget: 10 },
    ]);
  });

  it('still reads a customer through its index and an event through its key', async () => {
    const plan = async (sql: string, params: unknown[]) =>
      (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((row) => row['QUERY PLAN']).join('\n');
    const byCustomer = await plan('SELECT * FROM risk_scores WHERE customer_id = $1 ORDER BY event_time DESC LIMIT 20', ['c-7']);
    expect(byCustomer).toMatch(/risk_scores_customer_id_event_time_idx/);
    expect(byCustomer).not.toMatch(/Seq Scan/);
    expect(await plan('SELECT * FROM risk_scores WHERE event_id = $1', ['x'])).toMatch(/Index Scan using risk_scores_pkey/);
  });
});
