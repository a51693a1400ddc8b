import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import type { GatewayContext } from './context';

type Resolved = { operation: OperationDefinitionNode; document: DocumentNode };
export type DecideRequest = GraphQLRequestContextDidResolveOperation<GatewayContext> & Resolved;
export type SettleRequest = GraphQLRequestContextWillSendResponse<GatewayContext> & Resolved;

/**
 * One concern of the request path. `decide` runs after the operation is parsed and validated
 * and before any resolver (throw to refuse the request); `settle` runs before the response is
 * sent, for every request that reached `decide`, refused ones included.
 */
export interface RequestStep {
  name: string;
  decide?(request: DecideRequest): Promise<void>;
  settle?(request: SettleRequest): Promise<void>;
}

/**
 * Runs the steps strictly in order (Apollo would run separate plugins' hooks concurrently):
 * decisions first to last, settlements last to first, like nested middleware.
 */
export function pipelinePlugin(steps: RequestStep[]): ApolloServerPlugin<GatewayContext> {
  const deciders = steps.filter((step) => step.decide);
  const settlers = steps.filter((step) => step.settle).reverse();
  return {
    async requestDidStart() {
      let decided = false;
      return {
        async didResolveOperation(request) {
          // Apollo refuses a document without a resolvable operation before this hook.
          if (!request.operation) return;
          decided = true;
          for (const step of deciders) await step.decide!(request as DecideRequest);
        },
        async willSendResponse(request) {
          if (!decided) return;
          for (const step of settlers) await step.settle!(request as SettleRequest);
        },
      };
    },
  };
}
