import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { Metrics } from '../../ops/metrics';

/**
 * The `operation` label: the root field an operation selects, `multiple` for several, `none` when
 * none was resolved. Never the client's operation name: every new name would be a new series kept
 * for the life of the process, so a client could grow the gateway's memory and every scrape.
 */
export function operationLabel(operation: OperationDefinitionNode | undefined): string {
  if (!operation) return 'none';
  const [first, ...rest] = operation.selectionSet.selections;
  return first?.kind === Kind.FIELD && rest.length === 0 ? first.name.value : 'multiple';
}

/** Times each operation from request start to response, labelled by its root field, type and outcome. */
export function metricsPlugin(metrics: Metrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      // Not the histogram's startTimer: it merges label objects and reads hrtime pairs per request.
      const started = performance.now();
      return {
        async willSendResponse({ operation, errors }) {
          const labels = { operation: operationLabel(operation), type: operation?.operation ?? 'unknown', outcome: errors?.length ? 'error' : 'ok' };
          metrics.graphqlDuration.observe(labels, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
