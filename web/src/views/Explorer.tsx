import '../monaco-workers';
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { useMemo } from 'react';
import { GRAPHQL_PATH, authHeaders, websocketUrl } from '../api';

const DEFAULT_QUERY = `# Sent with your key, metered like any request.
# Free: me, rateLimit, usage, plans, dataProducts.
# Run with Ctrl-Enter (Cmd-Enter).
query WhoAmI {
  me {
    account { name }
    plan { code dailyQuota }
  }
  rateLimit { remaining limit resetAt }
}

# Paid, 1 unit per customer:
# { topRisks(first: 5) { customerId score band } }

# Live, over WebSocket:
# subscription { riskScoreUpdated { customerId band } }
`;

const PUBLIC_QUERY = `# Not signed in: public fields only, no key sent, nothing metered.
# Sign in (link above) to query scores, history and your usage.
# Run with Ctrl-Enter (Cmd-Enter).
query Public {
  health { status version }
  plans { code dailyQuota burstPerSecond }
}
`;

/**
 * GraphiQL (lazy-loaded: its editor is most of the portal's bytes), bound to the signed-in key,
 * or to no key at all (public fields), which is where a browser opening /graphql lands.
 */
export default function Explorer({ apiKey }: { apiKey: string | null }) {
  const fetcher = useMemo(
    () =>
      createGraphiQLFetcher({
        url: new URL(GRAPHQL_PATH, window.location.href).toString(),
        subscriptionUrl: websocketUrl(window.location),
        headers: authHeaders(apiKey),
        wsConnectionParams: authHeaders(apiKey),
      }),
    [apiKey],
  );
  return (
    <div className="explorer" data-testid="explorer">
      <GraphiQL fetcher={fetcher} defaultQuery={apiKey ? DEFAULT_QUERY : PUBLIC_QUERY} forcedTheme="light" defaultEditorToolsVisibility={false} />
    </div>
  );
}
