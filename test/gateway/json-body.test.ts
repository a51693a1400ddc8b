import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { HttpRequest, HttpResponse } from '../../src/gateway/handler';
import { jsonBody } from '../../src/gateway/json-body';

const LIMIT = 1_024;
let server: Server;
let url: string;
/** What the handler passed on for each request, in order. */
const outcomes: Array<{ body?: unknown; status?: number; message?: string }> = [];
/** Requests whose handler has started. */
let started = 0;
const until = async (done: () => boolean) => {
  for (const deadline = Date.now() + 5_000; !done() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
};

beforeAll(async () => {
  const handler = jsonBody(LIMIT);
  server = createServer((req, res) => {
    started++;
    handler(req as HttpRequest, res as HttpResponse, (error?: unknown) => {
      const outcome = error ? { status: (error as { status?: number }).status, message: (error as Error).message } : { body: (req as HttpRequest).body };
      outcomes.push(outcome);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(outcome));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const send = async (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  (await (await fetch(url, { method: 'POST', headers, body })).json()) as { body?: unknown; status?: number; message?: string };

describe('the GraphQL request body', () => {
  const request = { query: '{ health { status } }', variables: { city: 'Zürich' } };

  it.each([
    ['application/json', JSON.stringify(request)],
    ['application/json; charset=utf-8', JSON.stringify(request)],
    ['Application/JSON;charset=UTF-8', JSON.stringify(request)],
    ['application/json (a byte-order mark first)', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(request))])],
    ['application/json (whitespace before the object)', ` \n\t${JSON.stringify(request)}`],
  ])('reads %s', async (type, body) => {
    expect(await send(body, { 'content-type': type.split(' (')[0] })).toEqual({ body: request });
  });

  it('reads what the fast path leaves to body-parser: compressed and chunked bodies, other JSON media types', async () => {
    expect(await send(gzipSync(JSON.stringify(request)), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).toEqual({ body: request });
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"query": "{ health'));
        controller.enqueue(new TextEncoder().encode(' { status } }"}'));
        controller.close();
      },
    });
    const streamed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked, duplex: 'half' } as RequestInit);
    expect(await streamed.json()).toEqual({ body: { query: '{ health { status } }' } });
    expect(await send(JSON.stringify(request), { 'content-type': 'application/json; charset=utf-8; foo=bar' })).toEqual({ body: request });
  });

  it.each([
    ['JSON that does not parse', '{"query": "{ health }"', 400, /JSON/],
    ['a JSON string, not an object', '"{ health { status } }"', 400, /must be a JSON object/],
    ['a number', '42', 400, /must be a JSON object/],
    ['a body over the limit', JSON.stringify({ query: 'x'.repeat(LIMIT) }), 413, /too large/],
  ])('refuses %s', async (_name, body, status, message) => {
    const outcome = await send(body);
    expect(outcome.status).toBe(status);
    expect(outcome.message).toMatch(message);
  });

  it('refuses a charset that is not UTF-8 with 415, and ignores a body of another media type', async () => {
    expect((await send(JSON.stringify(request), { 'content-type': 'application/json; charset=latin1' })).status).toBe(415);
    expect(await send('query=x', { 'content-type': 'text/plain' })).toEqual({});
  });

  it('passes on an error, not a half-read body, when the client leaves before the end of its body', async () => {
    const before = outcomes.length;
    const startedBefore = started;
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"query": "{ hea');
    await until(() => started > startedBefore);
    socket.destroy();
    await until(() => outcomes.length > before);
    expect(outcomes.slice(before)).toEqual([{ status: 400, message: 'request aborted' }]);
  });
});
