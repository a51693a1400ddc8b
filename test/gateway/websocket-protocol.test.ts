import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../support/harness';

/**
 * The WebSocket transport against clients that do not speak graphql-ws, or speak it wrong (README,
 * "Transports"): every such connection ends with the protocol's close code for what it did (1009
 * for a message over the size limit), nothing of it is served, and the gateway goes on serving
 * everyone else.
 */

interface Ended {
  code: number;
  reason: string;
  messages: string[];
}

/** Opens a graphql-ws socket, sends `frames` in order (then `afterAck` once the server acknowledged the connection), and says how it ended. */
function session(url: string, frames: Array<string | Buffer>, { afterAck = [] as string[], waitMs = 3_000 } = {}): Promise<Ended> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: string[] = [];
    const timer = setTimeout(() => {
      socket.terminate();
      resolve({ code: -1, reason: 'still open', messages });
    }, waitMs);
    socket.on('open', () => {
      for (const frame of frames) socket.send(frame);
    });
    socket.on('message', (data) => {
      messages.push(data.toString().slice(0, 200));
      if (messages.at(-1)?.includes('connection_ack')) for (const frame of afterAck) socket.send(frame);
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString(), messages });
    });
    socket.on('error', () => undefined);
  });
}

describe('graphql-ws: clients that get the protocol wrong', () => {
  let gateway: TestGateway;
  let key: string;
  const init = () => JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
  const init1 = () => [init()];
  const nothing = () => [];
  const subscribe = (id: string) => JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { riskScoreUpdated { score } }' } });

  beforeAll(async () => {
    gateway = await startTestGateway({ ANONYMOUS_REQUESTS_PER_MINUTE: '100000', AUTH_FAILURES_PER_MINUTE: '100000' });
    key = (await gateway.newKey({ plan: 'ENTERPRISE' })).key;
  });
  afterAll(() => gateway?.stop());

  it.each<[string, number, () => Array<string | Buffer>, () => string[]]>([
    ['a frame that is not JSON', 4400, () => ['not json'], nothing],
    ['a binary frame', 4400, () => [Buffer.from([0, 1, 2, 255])], nothing],
    ['JSON that is not a message', 4400, () => [JSON.stringify({ hello: 'world' })], nothing],
    ['a connection_init whose payload is not an object', 4400, () => [JSON.stringify({ type: 'connection_init', payload: 'Bearer x' })], nothing],
    ['a subscribe before connection_init', 4401, () => [subscribe('1')], nothing],
    ['a subscribe before its connection is acknowledged', 4401, () => [init(), subscribe('1')], nothing],
    ['connection_init twice', 4429, () => [init(), init()], nothing],
    [
      'a subscribe without an id',
      4400,
      init1,
      () => [JSON.stringify({ type: 'subscribe', payload: { query: 'subscription { riskScoreUpdated { score } }' } })],
    ],
    ['a subscribe whose payload is not an object', 4400, init1, () => [JSON.stringify({ id: '1', type: 'subscribe', payload: 'subscription' })]],
    ['two subscriptions under one id', 4409, init1, () => [subscribe('same'), subscribe('same')]],
  ])('closes on %s with %i', async (_what, code, frames, afterAck) => {
    const ended = await session(gateway.url, frames(), { afterAck: afterAck() });
    expect({ code: ended.code, data: ended.messages.filter((message) => message.includes('"next"')) }).toEqual({ code, data: [] });
  });

  it('closes a connection that never sends connection_init, after the wait graphql-ws allows', async () => {
    const ended = await session(gateway.url, [], { waitMs: 8_000 });
    expect(ended.code).toBe(4408);
  }, 15_000);

  it('refuses a frame over the body limit by closing the socket (1009), before parsing it', async () => {
    const ended = await session(gateway.url, [JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(2_000_000) } })]);
    expect(ended.code).toBe(1009);
  });

  it('goes on serving HTTP and well-behaved sockets meanwhile', async () => {
    const { status, body } = await gateway.query('{ health { status } }');
    expect({ status, health: body.data?.health?.status }).toEqual({ status: 200, health: 'ok' });
    const ended = await session(gateway.url, [init()], { waitMs: 500 });
    expect(ended).toEqual({ code: -1, reason: 'still open', messages: [expect.stringContaining('connection_ack')] });
  });
});
