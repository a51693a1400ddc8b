import { HeaderMap, type ApolloServer, type BaseContext, type ContextFunction } from '@apollo/server';
import type { Handler, HttpRequest, HttpResponse } from './handler';

/**
 * Apollo Server on Node's own request and response, as @as-integrations/express5 does it behind
 * express, without the legacy `url.parse` it ran on every request only to find the query string
 * (2 % of the gateway's CPU at maximum load), and without express's `res.send`, which inspects a
 * body Apollo has already typed. The body must have been parsed before (graphqlBody).
 */
export function apolloMiddleware<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: ContextFunction<[{ req: HttpRequest; res: HttpResponse }], TContext>,
): Handler {
  server.assertStarted('apolloMiddleware()');
  // A rejection reaches the route's error handler (src/gateway/handler-chain.ts).
  return async (req, res) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const answer = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: searchOf(req.url ?? ''), body: req.body },
      context: () => context({ req, res }),
    });
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    res.statusCode = answer.status ?? 200;
    if (answer.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(answer.body.string));
      res.end(answer.body.string);
      return;
    }
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/** The query string of a request target, with its `?` (what `url.parse(target).search` gives; '' without one). */
export function searchOf(target: string): string {
  const fragment = target.indexOf('#');
  const path = fragment === -1 ? target : target.slice(0, fragment);
  const query = path.indexOf('?');
  return query === -1 ? '' : path.slice(query);
}
