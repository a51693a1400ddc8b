import { connect, type Socket } from 'node:net';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';

/**
 * Operational promises of README.md, on an in-process gateway over the real services:
 * - "Every error on /graphql ... whatever NODE_ENV: never an HTML page or a stack trace" (and
 *   `NODE_ENV=production` "hides stack traces from error responses"): an unexpected error
 *   (a bug, an outage) reaches the client as `INTERNAL_SERVER_ERROR` with nothing of the
 *   original error; an expected one carries no `stacktrace` either.
 * - "Keys look like `tg_live_…` (or `tg_test_…` outside `NODE_ENV=production`)": the mode is
 *   chosen by NODE_ENV (src/services.ts), and the keys it issues authenticate.
 * - `/readyz` answers 503 while the process drains (graceful shutdown), `/healthz` still 200.
 */

const SECRET = 'db password hunter2 at /srv/tollgraph/src/plans/service.ts:42';
const TRACE_SHAPE = /stacktrace|exception|\bat [\w.<>]+ \(|node_modules|\/src\/|hunter2/;

describe.each(['production', 'development'] as const)('NODE_ENV=%s', (nodeEnv) => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ NODE_ENV: nodeEnv });
  });
  afterAll(() => gateway?.stop());

  it('answers an unexpected resolver error with INTERNAL_SERVER_ERROR and nothing of the error itself', async () => {
    const { plans } = gateway.services;
    const original = plans.list;
    plans.list = async () => {
      throw new Error(SECRET);
    };
    try {
      const { status, body } = await gateway.query('{ plans { code } }');
      expect(status).toBe(200);
      expect(body.data).toBeNull();
      expect(body.errors).toEqual([
        { message: 'Internal server error', path: ['plans'], locations: [{ line: 1, column: 3 }], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ]);
      expect(JSON.stringify(body)).not.toMatch(TRACE_SHAPE);
    } finally {
      plans.list = original;
    }
    // The gateway is fine afterwards.
    expect((await gateway.query('{ plans { code } }')).body.data.plans.map((plan: { code: string }) => plan.code)).toEqual([
      'FREE',
      'PROFESSIONAL',
      'ENTERPRISE',
    ]);
  });

  it('sends expected errors (validation, bad input, refusals) without a stack trace', async () => {
    const admin = await gateway.newKey({ role: 'ADMIN' });
    const subscriber = await gateway.newKey();
    const cases: Array<[string, string | undefined, string]> = [
      ['{ nope }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
      ['{ health { status ', undefined, 'GRAPHQL_PARSE_FAILED'],
      ['{ accountUsage(accountId: "not-a-uuid", from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { costUnits } }', admin.key, 'BAD_USER_INPUT'],
      ['{ accounts(first: 1) { nodes { id } } }', subscriber.key, 'FORBIDDEN'],
      ['{ me { key { id } } }', 'tg_test_00000000000000000000000000000000', 'UNAUTHENTICATED'],
    ];
    for (const [query, key, code] of cases) {
      const { body } = await gateway.query(query, { key });
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
      expect(JSON.stringify(body)).not.toMatch(TRACE_SHAPE);
    }
  });

  const prefix = nodeEnv === 'production' ? 'tg_live_' : 'tg_test_';
  it(`issues ${prefix} keys (service, createApiKey) and they authenticate`, async () => {
    const admin = await gateway.newKey({ role: 'ADMIN' });
    expect(admin.key).toMatch(new RegExp(`^${prefix}[0-9A-Za-z]{32}$`));
    const me = await gateway.query('{ me { account { id } key { id prefix role } } }', { key: admin.key });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      data: { me: { account: { id: admin.accountId }, key: { id: admin.keyId, prefix: admin.key.slice(0, prefix.length + 4), role: 'ADMIN' } } },
      extensions: expect.anything(),
    });

    const created = await gateway.query(`mutation { createApiKey(accountId: "${admin.accountId}", name: "second", role: SUBSCRIBER) { key apiKey { id } } }`, {
      key: admin.key,
    });
    const { key, apiKey } = created.body.data.createApiKey;
    expect(key).toMatch(new RegExp(`^${prefix}[0-9A-Za-z]{32}$`));
    const second = await gateway.query('{ me { key { id role } } }', { key });
    expect(second.body.data.me.key).toEqual({ id: apiKey.id, role: 'SUBSCRIBER' });
  });
});

/** One HTTP/1.1 connection, raw, so requests can be written on it after the server stops accepting new ones. */
class RawConnection {
  private received = '';
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The responses received, in order, once `count` complete ones have arrived. */
  async responses(count: number): Promise<Array<{ status: number; body: any }>> {
    let parsed: Array<{ status: number; body: any }> = [];
    await waitFor(
      `${count} responses on the connection`,
      async () => {
        parsed = [];
        let rest = this.received;
        while (rest.length) {
          const headerEnd = rest.indexOf('\r\n\r\n');
          if (headerEnd < 0) return false;
          const head = rest.slice(0, headerEnd);
          const length = Number(head.match(/\r\ncontent-length: (\d+)/i)?.[1] ?? NaN);
          if (Number.isNaN(length)) throw new Error(`a response without content-length:\n${head}`);
          const body = rest.slice(headerEnd + 4, headerEnd + 4 + length);
          if (Buffer.byteLength(body) < length) return false;
          parsed.push({ status: Number(head.split(' ')[1]), body: JSON.parse(body) });
          rest = rest.slice(headerEnd + 4 + length);
        }
        return parsed.length >= count;
      },
      15_000,
      20,
    );
    return parsed;
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('graceful shutdown and the probes', () => {
  it('answers /readyz 503 (shutting down) while draining, and /healthz 200', async () => {
    const gateway = await startTestGateway();
    let stopped: Promise<void> | undefined;
    let connection: RawConnection | undefined;
    const { plans } = gateway.services;
    const original = plans.list.bind(plans);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    try {
      // Before draining: ready.
      expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);

      // A request in flight holds the drain open: its resolver waits for the gate.
      plans.list = async () => {
        entered = true;
        await gate;
        return original();
      };
      connection = await RawConnection.open(gateway.url);
      const body = JSON.stringify({ query: '{ plans { code } }' });
      connection.write(`POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await waitFor('the in-flight request to reach its resolver', async () => entered, 10_000, 10);

      stopped = gateway.stop();
      // Draining: the listening socket is closed, new connections are refused.
      await waitFor(
        'the gateway to stop accepting connections',
        async () =>
          fetch(`${gateway.url}/healthz`).then(
            () => false,
            () => true,
          ),
        10_000,
        20,
      );

      // Probes on the connection that is still open (as a load balancer's kept-alive one would be).
      connection.write('GET /readyz HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
      release();
      const [graphql, readyz, healthz] = await connection.responses(3);
      expect(graphql).toEqual({ status: 200, body: { data: { plans: [{ code: 'FREE' }, { code: 'PROFESSIONAL' }, { code: 'ENTERPRISE' }] } } });
      expect(readyz).toEqual({ status: 503, body: expect.objectContaining({ ready: false, reason: 'shutting down' }) });
      expect(healthz).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      release();
      connection?.close();
      plans.list = original;
      await (stopped ?? gateway.stop());
    }
  });
});
