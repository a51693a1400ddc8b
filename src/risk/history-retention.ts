import type { Sql } from '../db/sql';
import type { RiskScoreView } from './view';

/**
 * Deletes history rows older than `before` that `archived` holds exactly as stored (same score,
 * band, factors, model, times): a row the archive has differently (a replay rewrote it) or not
 * at all stays. Each customer's newest row stays too: the latest score falls back to it when
 * Redis misses. Returns how many rows went.
 */
export async function deleteArchivedHistory(sql: Sql, archived: RiskScoreView[], before: Date): Promise<number> {
  if (archived.length === 0) return 0;
  const rows = await sql.query(
    `DELETE FROM risk_scores r
     USING unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[], $8::timestamptz[])
       AS a(event_id, customer_id, score, band, factors, model_version, event_time, computed_at)
     WHERE r.event_id = a.event_id AND r.customer_id = a.customer_id AND r.score = a.score AND r.band::text = a.band
       AND r.factors::jsonb = a.factors AND r.model_version = a.model_version AND r.event_time = a.event_time AND r.computed_at = a.computed_at
       AND r.event_time < $9
       AND EXISTS (SELECT 1 FROM risk_scores n WHERE n.customer_id = r.customer_id AND n.event_time > r.event_time)
     RETURNING 1`,
    [
      archived.map((view) => view.eventId),
      archived.map((view) => view.customerId),
      archived.map((view) => view.score),
      archived.map((view) => view.band),
      archived.map((view) => JSON.stringify(view.factors)),
      archived.map((view) => view.modelVersion),
      archived.map((view) => new Date(view.eventTime)),
      archived.map((view) => new Date(view.computedAt)),
      before,
    ],
  );
  return rows.length;
}
