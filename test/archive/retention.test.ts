import { randomBytes, randomUUID } from 'node:crypto';
import { riskScoresDataset } from '../../src/archive/datasets';
import { ArchiveManifest } from '../../src/archive/manifest';
import { objectStoreFor, type ObjectStore } from '../../src/archive/object-store';
import { pruneHistory, retentionCutoff } from '../../src/archive/retention';
import type { RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { directWriter, scoreRecord } from './direct';
import { archiveSettings } from './support';

const DAY = 86_400_000;
const RETENTION_DAYS = 30;
const BANDS = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

const HISTORY = `query($c: ID!, $from: DateTime, $to: DateTime, $first: Int!, $after: String) {
  riskHistory(customerId: $c, from: $from, to: $to, first: $first, after: $after) {
    nodes { customerId eventId score band factors { code contribution detail } eventTime computedAt modelVersion }
    pageInfo { hasNextPage endCursor }
  }
}`;

/**
 * History retention on PostgreSQL and versitygw: rows older than HISTORY_RETENTION_DAYS leave
 * PostgreSQL only when a committed archive segment holds them as stored, and riskHistory answers
 * page for page, cursor for cursor, what it answered before they left.
 */
describe('score history retention (PostgreSQL, versitygw)', () => {
  let gateway: TestGateway;
  let store: ObjectStore;
  const prefix = `test-${randomBytes(4).toString('hex')}/`;
  const now = Date.now();
  const customers = ['c-ret-a', 'c-ret-b', 'c-ret-c', 'c-ret-old'].map((c) => `${c}-${randomBytes(3).toString('hex')}`);
  const [a, b, c, allOld] = customers;

  /** 40 scores a customer, one every 1.5 days back from now (`allOld`: starting 35 days ago), two of them at the same time. */
  const views: RiskScoreView[] = customers.flatMap((customerId, n) =>
    Array.from({ length: 40 }, (_, i) => {
      const time = (customerId === allOld ? now - 35 * DAY : now) - Math.floor(i * 1.5 * DAY) - n * 1000 - (i === 31 ? 1.5 * DAY : 0);
      const score = (i * 97 + n * 31) % 1000;
      return {
        customerId,
        eventId: randomUUID(),
        score,
        band: BANDS[Math.floor(score / 250)],
        factors: [{ code: 'VELOCITY_1M_COUNT', contribution: score, detail: `${i} in a minute` }],
        modelVersion: 'test-1',
        eventTime: new Date(time).toISOString(),
        computedAt: new Date(time + 120).toISOString(),
      };
    }),
  );
  const cutoff = retentionCutoff(RETENTION_DAYS, now).getTime();
  const old = (view: RiskScoreView) => Date.parse(view.eventTime) < cutoff;
  // a's old scores are archived, one of them differently (as if a replay had rewritten the history since);
  // b's are in a segment still pending (claimed, never committed); c's are not archived at all.
  const rewritten = views.filter((v) => v.customerId === a && old(v))[3];
  const committed = views.filter((v) => v.customerId === a || v.customerId === allOld);
  const pending = views.filter((v) => v.customerId === b);

  beforeAll(async () => {
    gateway = await startTestGateway({ ...archiveSettings(prefix), HISTORY_RETENTION_DAYS: String(RETENTION_DAYS) });
    store = (await objectStoreFor(gateway.services.config))!;
    const { sql } = gateway.services.db;
    await sql.query(
      `INSERT INTO risk_scores (event_id, customer_id, score, band, factors, model_version, event_time, computed_at)
       SELECT e, c, s, b::"RiskBand", f::json, m, t, ct FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
         AS v(e, c, s, b, f, m, t, ct)`,
      [
        views.map((v) => v.eventId),
        views.map((v) => v.customerId),
        views.map((v) => v.score),
        views.map((v) => v.band),
        views.map((v) => JSON.stringify(v.factors)),
        views.map((v) => v.modelVersion),
        views.map((v) => v.eventTime),
        views.map((v) => v.computedAt),
      ],
    );
    const writer = await directWriter(sql, store, prefix);
    const archived = committed.map((v) => (v === rewritten ? { ...v, score: v.score + 1 } : v));
    const segment = (list: RiskScoreView[], partition: number) => ({
      topic: 'risk-scores',
      partition,
      dataset: riskScoresDataset,
      fromOffset: 0,
      toOffset: list.length,
      rows: list.map((view, offset) => riskScoresDataset.row(scoreRecord(view, offset, partition))),
    });
    expect(await writer.write(segment(archived, 0))).toBe('committed');
    expect(await writer.write(segment(pending, 1))).toBe('committed');
    // A crash between the upload and the commit: the objects are there, the manifest says pending.
    await sql.query(`UPDATE archive_segments SET committed = false WHERE topic = 'risk-scores' AND partition = 1`);
  }, 60_000);
  afterAll(async () => {
    if (store) await store.delete(await store.list(prefix));
    await gateway?.stop();
  });

  /** Every page of a customer's history in a window, as a client walks it with the cursors. */
  async function walk(key: string, customerId: string, window: { from?: string; to?: string }, first: number) {
    const pages: unknown[] = [];
    let after: string | null = null;
    do {
      const { body } = await gateway.query(HISTORY, { key, variables: { c: customerId, ...window, first, after } });
      expect(body.errors).toBeUndefined();
      pages.push(body.data.riskHistory);
      after = body.data.riskHistory.pageInfo.hasNextPage ? body.data.riskHistory.pageInfo.endCursor : null;
    } while (after);
    return pages;
  }

  const remaining = async () =>
    new Set(
      (await gateway.services.db.sql.query<{ event_id: string }>(`SELECT event_id FROM risk_scores WHERE customer_id = ANY($1)`, [customers])).map(
        (row) => row.event_id,
      ),
    );

  it('deletes only old rows a committed segment holds as stored, and serves the same history afterwards', async () => {
    // ENTERPRISE: its burst limit lets the walks run back to back.
    const { key } = await gateway.newKey({ plan: 'ENTERPRISE' });
    const windows = [{}, { from: new Date(now - 50 * DAY).toISOString(), to: new Date(now - 10 * DAY).toISOString() }];
    const walks = async () => {
      const all: unknown[] = [];
      for (const customerId of customers) for (const window of windows) for (const first of [7, 100]) all.push(await walk(key, customerId, window, first));
      return all;
    };
    const before = await walks();

    const deps = { sql: gateway.services.db.sql, manifest: new ArchiveManifest(gateway.services.db.sql), store };
    const report = await pruneHistory(deps, new Date(cutoff));
    const newestOld = views.filter((v) => v.customerId === allOld)[0];
    const gone = committed.filter((v) => old(v) && v !== rewritten && v !== newestOld);
    expect(gone.length).toBeGreaterThan(40);
    expect(report).toEqual({ segments: 1, deleted: gone.length });
    const left = await remaining();
    expect(left).toEqual(new Set(views.filter((v) => !gone.includes(v)).map((v) => v.eventId)));
    // Old rows of c (not archived) and b (segment pending) are all still there, and so is the rewritten one.
    expect(views.filter((v) => (v.customerId === b || v.customerId === c) && old(v)).every((v) => left.has(v.eventId))).toBe(true);
    expect(left.has(rewritten.eventId)).toBe(true);

    expect(await walks()).toEqual(before);

    // The segment straddles the cutoff (a's recent scores): read again by the next pass, which deletes nothing more.
    expect(await pruneHistory(deps, new Date(cutoff))).toEqual({ segments: 1, deleted: 0 });
  }, 120_000);
});
