import type { UpdateFieldsFragment } from './generated/graphql';
import { createClient } from 'graphql-ws/client';
import { ApiError, graphqlRequest, websocketUrl, type ApiEvents } from './api';
import type { Band } from './components/ui';

export type RiskUpdate = UpdateFieldsFragment;

export type FeedState = { mode: 'connecting' } | { mode: 'live' } | { mode: 'polling'; reason: string } | { mode: 'failed'; error: ApiError };

const UPDATE_FIELDS = /* GraphQL */ `
  fragment UpdateFields on RiskScore { customerId eventId band score eventTime computedAt factors { code contribution } }
`;

const SUBSCRIPTION_QUERY = /* GraphQL */ `
  subscription PortalRiskFeed($minBand: RiskBand) {
    riskScoreUpdated(minBand: $minBand) { ...UpdateFields }
  }
`;
const SUBSCRIPTION = SUBSCRIPTION_QUERY + UPDATE_FIELDS;

const POLL_QUERY = /* GraphQL */ `
  query PortalRiskPoll($minBand: RiskBand!) {
    topRisks(minBand: $minBand, first: 10) { ...UpdateFields }
  }
`;
const POLL = POLL_QUERY + UPDATE_FIELDS;

export const POLL_INTERVAL_MS = 3000;
const FLUSH_MS = 250;

interface FeedOptions {
  key: string;
  minBand: Band;
  onUpdates(updates: RiskUpdate[]): void;
  onState(state: FeedState): void;
  events?: ApiEvents;
}

/**
 * Live scores: the `riskScoreUpdated` subscription over graphql-ws on /graphql (the key goes in
 * the connection_init payload). If the WebSocket cannot be opened or the subscription is refused,
 * it falls back to polling `topRisks` (which is metered) and says so. Updates arrive in batches
 * every 250 ms so a fast feed does not re-render the page per message. Returns a stop function.
 */
export function openRiskFeed({ key, minBand, onUpdates, onState, events }: FeedOptions): () => void {
  let stopped = false;
  let buffer: RiskUpdate[] = [];
  let pollTimer: number | undefined;
  let connected = false;
  let endedBecause: string | undefined;
  const flushTimer = window.setInterval(() => {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    onUpdates(batch);
  }, FLUSH_MS);

  const seen = new Set<string>();
  const poll = async () => {
    if (stopped) return;
    try {
      const data = await graphqlRequest<{ topRisks: RiskUpdate[] }>(key, POLL, { minBand }, events);
      const fresh = data.topRisks.filter((update) => !seen.has(update.eventId)).sort((a, b) => a.computedAt.localeCompare(b.computedAt));
      for (const update of fresh) seen.add(update.eventId);
      buffer.push(...fresh);
    } catch (error) {
      if (error instanceof ApiError) onState({ mode: 'failed', error });
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
    }
    if (!stopped) pollTimer = window.setTimeout(poll, POLL_INTERVAL_MS);
  };
  const fallBack = (reason: string) => {
    if (stopped || pollTimer !== undefined) return;
    onState({ mode: 'polling', reason });
    void client.dispose();
    pollTimer = window.setTimeout(poll, 0);
  };

  onState({ mode: 'connecting' });
  const client = createClient({
    url: websocketUrl(window.location),
    connectionParams: { authorization: `Bearer ${key}` },
    lazy: false,
    retryAttempts: 2,
    on: {
      connected: () => {
        connected = true;
        if (!stopped) onState({ mode: 'live' });
      },
      closed: (event) => {
        if (stopped) return;
        const code = (event as CloseEvent | undefined)?.code;
        if (code === 4403 || code === 4401) {
          onState({ mode: 'failed', error: new ApiError({ status: 401, code: 'UNAUTHENTICATED', message: 'The live feed refused this key.' }) });
          stopped = true;
          return;
        }
        if (connected) onState({ mode: 'connecting' });
      },
    },
  });
  const unsubscribe = client.subscribe<{ riskScoreUpdated: RiskUpdate }>(
    { query: SUBSCRIPTION, variables: { minBand: minBand === 'LOW' ? null : minBand } },
    {
      next: (result) => {
        if (result.data?.riskScoreUpdated) buffer.push(result.data.riskScoreUpdated);
        // The server ends a feed with one result of errors (e.g. the daily quota is spent: each
        // delivered event is billed), then completes it.
        if (result.errors?.length) endedBecause = result.errors.map((e) => e.message).join('; ');
      },
      error: (error) => {
        const reason = Array.isArray(error)
          ? (error as { message: string }[]).map((e) => e.message).join('; ')
          : error instanceof Error
            ? error.message
            : 'the WebSocket connection closed';
        fallBack(`live updates unavailable (${reason || 'no WebSocket'})`);
      },
      complete: () => fallBack(endedBecause ? `the live feed ended: ${endedBecause}` : 'the live subscription ended'),
    },
  );

  return () => {
    stopped = true;
    window.clearInterval(flushTimer);
    if (pollTimer !== undefined) window.clearTimeout(pollTimer);
    unsubscribe();
    void client.dispose();
  };
}
