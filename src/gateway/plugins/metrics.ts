import type { ApolloServerPlugin } from '@apollo/server';
import type { Metrics } from '../../ops/metrics';

/** Times each operation from request start to response, labelled by name, type and outcome. */
export function metricsPlugin(metrics: Metrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const stopTimer = metrics.graphqlDuration.startTimer();
      return {
        async willSendResponse({ operationName, operation, errors }) {
          stopTimer({
            operation: operationName ?? 'anonymous',
            type: operation?.operation ?? 'unknown',
            outcome: errors?.length ? 'error' : 'ok',
          });
        },
      };
    },
  };
}
