import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handlerChain } from '../../src/gateway/handler-chain';
import type { Handler, HttpResponse } from '../../src/gateway/handler';
import { isGraphqlPath } from '../../src/gateway/http';

describe('the GraphQL path, outside express', () => {
  it('is /graphql or below it, in any case, as express matched the mounted route', () => {
    for (const url of ['/graphql', '/graphql?query=x', '/graphql/', '/GraphQL', '/GRAPHQL?x=1', '/graphql/anything'])
      expect([url, isGraphqlPath(url)]).toEqual([url, true]);
    for (const url of [undefined, '', '/', '/graph', '/graphqlx', '/graphql-ws', '/v1/graphql', '/schemas', 'graphql'])
      expect([url, isGraphqlPath(url)]).toEqual([url, false]);
  });
});

describe('handlerChain', () => {
  let server: Server;
  let url: string;
  let route: (req: Parameters<Handler>[0], res: HttpResponse) => void;
  const failures: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => route(req, Object.assign(res, { locals: {} })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (failures.length = 0));

  const answer =
    (body: string): Handler =>
    (_req, res) =>
      res.end(body);
  const failed = (error: unknown, _req: unknown, res: HttpResponse) => {
    failures.push((error as Error).message);
    res.statusCode = 500;
    res.end('failed');
  };
  const unanswered: Handler = (_req, res) => {
    res.statusCode = 404;
    res.end('unanswered');
  };
  const get = async () => {
    const response = await fetch(url);
    return [response.status, await response.text()];
  };

  it('runs each handler in turn, sharing the request and the answer, until one answers', async () => {
    const seen: string[] = [];
    route = handlerChain(
      [
        (_req, res, next) => {
          res.locals.operation = 'first';
          next();
        },
        async (_req, res, next) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          seen.push(res.locals.operation!);
          next();
        },
        answer('answered'),
        () => seen.push('never'),
      ],
      failed,
      unanswered,
    );
    expect(await get()).toEqual([200, 'answered']);
    expect(seen).toEqual(['first']);
  });

  it('answers with `unanswered` when every handler went on', async () => {
    route = handlerChain([(_req, _res, next) => next()], failed, unanswered);
    expect(await get()).toEqual([404, 'unanswered']);
  });

  it.each([
    ['next(error)', ((_req, _res, next) => next(new Error('passed on'))) as Handler, 'passed on'],
    [
      'a throw',
      (() => {
        throw new Error('thrown');
      }) as Handler,
      'thrown',
    ],
    [
      'a rejected promise',
      (async () => {
        throw new Error('rejected');
      }) as Handler,
      'rejected',
    ],
  ])('ends in the error handler on %s, and runs no later handler', async (_how, handler, message) => {
    route = handlerChain([handler, answer('answered')], failed, unanswered);
    expect(await get()).toEqual([500, 'failed']);
    expect(failures).toEqual([message]);
  });

  it('cuts the connection when the error comes after the answer has begun', async () => {
    route = handlerChain(
      [
        (_req, res, next) => {
          res.writeHead(200);
          res.write('partial');
          setTimeout(() => next(new Error('too late')), 5);
        },
      ],
      (error, _req, res) => {
        failures.push((error as Error).message);
        // What the real error handler does: set headers for its own answer, which throws now.
        res.setHeader('content-type', 'application/json');
      },
      unanswered,
    );
    await expect(fetch(url).then((response) => response.text())).rejects.toThrow();
    expect(failures).toEqual(['too late']);
  });
});
