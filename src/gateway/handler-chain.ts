import type { Handler, HttpRequest, HttpResponse } from './handler';

/**
 * A route's handlers run in turn on Node's own request and answer, as express runs middleware (a
 * handler calls next() to go on, next(error) to end in `failed`; a throw or a rejected promise is
 * next(error)), without express's router: matching layers, swapping the request's and answer's
 * prototypes and parsing the query string cost 16-17 µs of CPU per request in isolation; the
 * gateway's "HTTP, body, routing" step fell from 38.8 to 24.5 µs per request without them
 * (BENCHMARKS.md). A route whose handlers all went on answers with `unanswered`.
 */
export function handlerChain(
  handlers: readonly Handler[],
  failed: (error: unknown, req: HttpRequest, res: HttpResponse) => void,
  unanswered: Handler,
): (req: HttpRequest, res: HttpResponse) => void {
  const steps = [...handlers, unanswered];
  return (req, res) => {
    let at = 0;
    const fail = (error: unknown): void => {
      try {
        failed(error, req, res);
      } catch {
        // The answer had begun (its head is out): the only thing left to tell the client is a cut connection.
        res.destroy();
      }
    };
    const next = (error?: unknown): void => {
      if (error !== undefined) {
        fail(error);
        return;
      }
      const step = steps[at++];
      if (!step) return;
      try {
        const result = step(req, res, next);
        if (result instanceof Promise) result.catch(fail);
      } catch (error) {
        fail(error);
      }
    };
    next();
  };
}
