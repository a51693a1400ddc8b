import type { PortalTopRisksQuery } from '../generated/graphql';
import { useEffect, useRef, useState } from 'react';
import { useApi, useQuery } from '../client';
import { BANDS, BandBadge, ErrorState, Loading, Panel, TableHead, TableWrap, type Band } from '../components/ui';
import { formatInt, formatTime } from '../format';
import { openRiskFeed, type FeedState, type RiskUpdate } from '../live';

const KEEP = 30;

const TOP = /* GraphQL */ `
  query PortalTopRisks {
    topRisks(minBand: HIGH, first: 10) { customerId band score eventTime factors { code } }
  }
`;

function FeedStatus({ state, received }: { state: FeedState; received: number }) {
  switch (state.mode) {
    case 'connecting':
      return <span className="feed-status">Connecting to the live feed…</span>;
    case 'live':
      return (
        <span className="feed-status live" data-testid="feed-mode" data-mode="live">
          <span className="dot" aria-hidden="true" /> Live over WebSocket (riskScoreUpdated) · {formatInt(received)} updates received
        </span>
      );
    case 'polling':
      return (
        <span className="feed-status polling" data-testid="feed-mode" data-mode="polling">
          Polling topRisks every 3 s: {state.reason} · {formatInt(received)} updates received
        </span>
      );
    case 'failed':
      return <ErrorState error={state.error} compact />;
  }
}

export function LiveRisk() {
  const api = useApi();
  const [minBand, setMinBand] = useState<Band>('LOW');
  const [paused, setPaused] = useState(false);
  const [updates, setUpdates] = useState<RiskUpdate[]>([]);
  const [received, setReceived] = useState(0);
  const [state, setState] = useState<FeedState>({ mode: 'connecting' });
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    setUpdates([]);
    return openRiskFeed({
      key: api.key,
      minBand,
      onState: setState,
      onUpdates: (batch) => {
        setReceived((n) => n + batch.length);
        if (pausedRef.current) return;
        setUpdates((current) => [...[...batch].reverse(), ...current].slice(0, KEEP));
      },
    });
  }, [api.key, minBand]);

  return (
    <div className="grid live-grid">
      <Panel
        title="Live risk feed"
        actions={
          <>
            <label className="inline-field">
              <span>Bands</span>
              <select value={minBand} onChange={(e) => setMinBand(e.target.value as Band)}>
                {BANDS.map((band) => (
                  <option key={band} value={band}>
                    {band === 'LOW' ? 'all' : `${band} and above`}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="button secondary" aria-pressed={paused} onClick={() => setPaused((p) => !p)}>
              {paused ? 'Resume' : 'Pause'}
            </button>
          </>
        }
      >
        <p>
          <FeedStatus state={state} received={received} />
        </p>
        <TableWrap label="Latest scores">
          <table className="table feed" data-testid="risk-feed">
            <caption className="visually-hidden">Latest risk scores, newest first</caption>
            <TableHead columns={['Time', 'Customer', 'Band', 'Score', 'Main factor']} />
            <tbody>
              {updates.map((update) => (
                <tr key={`${update.eventId}-${update.computedAt}`} className={`row-${update.band.toLowerCase()}`} data-testid="risk-row">
                  <td>
                    <time dateTime={update.eventTime}>{formatTime(update.eventTime)}</time>
                  </td>
                  <td>
                    <code>{update.customerId}</code>
                  </td>
                  <td>
                    <BandBadge band={update.band} />
                  </td>
                  <td className="num">{update.score ?? <span className="muted">not in plan</span>}</td>
                  <td>{update.factors?.[0] ? `${update.factors[0].code} (+${update.factors[0].contribution})` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
        {updates.length === 0 && state.mode !== 'failed' && <Loading what="Waiting for scores" />}
      </Panel>
      <TopRisks />
    </div>
  );
}

function TopRisks() {
  const top = useQuery<PortalTopRisksQuery>(TOP);
  return (
    <Panel
      title="Highest risks now"
      actions={
        <button type="button" className="button secondary" onClick={top.reload} disabled={top.loading}>
          Refresh
        </button>
      }
    >
      <p className="muted small">topRisks(minBand: HIGH, first: 10) · costs 10 units</p>
      {top.error && <ErrorState error={top.error} compact />}
      {top.data ? (
        top.data.topRisks.length === 0 ? (
          <p className="muted">No customer is HIGH or CRITICAL right now.</p>
        ) : (
          <ol className="top-list">
            {top.data.topRisks.map((risk) => (
              <li key={risk.customerId}>
                <code>{risk.customerId}</code> <BandBadge band={risk.band} /> <span className="num">{risk.score ?? ''}</span>
                {risk.factors?.[0] && <span className="muted small"> {risk.factors[0].code}</span>}
              </li>
            ))}
          </ol>
        )
      ) : (
        !top.error && <Loading />
      )}
    </Panel>
  );
}
