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

/** GraphiQL (lazy-loaded: its editor is most of the portal's bytes), bound to the signed-in key. */
export default function Explorer({ apiKey }: { apiKey: string }) {
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
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} forcedTheme="light" defaultEditorToolsVisibility={false} />
    </div>
  );
}
