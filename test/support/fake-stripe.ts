import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStripeOptions {
  /** Share of meter-event calls that fail (429, 500 or a hang past the client's timeout). */
  failureRate?: number;
  /** Share of calls whose event is stored but whose answer is a 500 anyway (the client will resend it). */
  lostResponseRate?: number;
  /** How long a "timeout" failure holds the request. */
  hangMs?: number;
  /**
   * After this many meter events have been answered, store every further event but hold its
   * answer (as when the sender dies mid-send); clear `holdAfter` to answer again.
   */
  holdAfter?: number;
  /** How long every meter-event answer takes (a slow Stripe). */
  latencyMs?: number;
  random?: () => number;
  /** Meter id → its event name, for event summaries per meter; absent: every summary sums every event. */
  meters?: Record<string, string>;
}

interface StoredEvent {
  /** Absent: counted on every meter (events a test stores by hand). */
  eventName?: string;
  identifier: string;
  customer: string;
  value: number;
  timestamp: number;
}

/**
 * A recording stand-in for Stripe's Billing Meter endpoints, faithful where billing depends on
 * it: events are deduplicated by `identifier`, as Stripe does, and it can fail like a real
 * service under load. Counts what was sent, which stripe-mock (stateless) cannot.
 */
export class FakeStripe {
  /** Every call, with when it was received (ms since the epoch, after its body was read). */
  readonly calls: Array<{ identifier: string; outcome: string; at: number }> = [];
  readonly events = new Map<string, StoredEvent>();
  /** See FakeStripeOptions.holdAfter; may be changed while running. */
  holdAfter: number | undefined;
  private server?: Server;

  constructor(private readonly options: FakeStripeOptions = {}) {
    this.holdAfter = options.holdAfter;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Units held per customer, as Stripe's meter would aggregate them. */
  unitsByCustomer(eventName?: string): Map<string, number> {
    const totals = new Map<string, number>();
    for (const event of this.events.values())
      if (eventName === undefined || event.eventName === eventName) totals.set(event.customer, (totals.get(event.customer) ?? 0) + event.value);
    return totals;
  }

  /** The most meter-event calls received within any `windowMs` (a sliding window over their times). */
  mostCallsWithin(windowMs = 1000): number {
    const times = this.calls.map((call) => call.at).sort((a, b) => a - b);
    let most = 0;
    for (let first = 0, last = 0; last < times.length; last++) {
      while (times[last] - times[first] >= windowMs) first++;
      most = Math.max(most, last - first + 1);
    }
    return most;
  }

  /** Simulates an event Stripe lost. */
  forget(identifier: string): void {
    this.events.delete(identifier);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://fake');
    const reply = (status: number, payload: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${this.calls.length}` });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'POST' && url.pathname === '/v1/billing/meter_events') return this.meterEvent(new URLSearchParams(body), reply, res);
    const balance = url.pathname.match(/^\/v1\/customers\/([^/]+)\/balance_transactions$/);
    if (req.method === 'POST' && balance)
      return reply(200, this.balanceTransaction(balance[1], new URLSearchParams(body), String(req.headers['idempotency-key'] ?? '')));
    const lines = url.pathname.match(/^\/v1\/(invoices|credit_notes)\/([^/]+)\/lines$/);
    if (req.method === 'GET' && lines) {
      const held = this.linesHeld;
      if (held) {
        held.asked++;
        await held.gate;
      }
      const all = (lines[1] === 'invoices' ? this.invoiceLines : this.creditNoteLines).get(lines[2]) ?? [];
      return reply(200, this.linesPage(url.pathname, all, url.searchParams));
    }
    const summaries = url.pathname.match(/^\/v1\/billing\/meters\/([^/]+)\/event_summaries$/);
    if (req.method === 'GET' && summaries) return reply(200, this.summaries(summaries[1], url.searchParams));
    reply(404, { error: { type: 'invalid_request_error', message: `fake Stripe has no ${req.method} ${url.pathname}` } });
  }

  private meterEvent(form: URLSearchParams, reply: (status: number, payload: unknown) => void, res: ServerResponse): void {
    const random = this.options.random ?? Math.random;
    const identifier = form.get('identifier') ?? '';
    const event = {
      eventName: form.get('event_name') ?? '',
      identifier,
      customer: form.get('payload[stripe_customer_id]') ?? '',
      value: Number(form.get('payload[value]')),
      timestamp: Number(form.get('timestamp')),
    };
    const at = Date.now();
    const roll = random();
    const failureRate = this.options.failureRate ?? 0;
    if (roll < failureRate / 3) {
      this.calls.push({ identifier, outcome: '429', at });
      reply(429, { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } });
      return;
    }
    if (roll < (2 * failureRate) / 3) {
      this.calls.push({ identifier, outcome: '500', at });
      reply(500, { error: { type: 'api_error', message: 'Something went wrong' } });
      return;
    }
    if (roll < failureRate) {
      this.calls.push({ identifier, outcome: 'timeout', at });
      setTimeout(() => res.destroy(), this.options.hangMs ?? 2000);
      return;
    }
    // Stripe deduplicates by identifier: a resend is accepted and changes nothing.
    if (!this.events.has(identifier)) this.events.set(identifier, event);
    if (this.holdAfter !== undefined && this.calls.filter((call) => call.outcome === 'ok').length >= this.holdAfter) {
      this.calls.push({ identifier, outcome: 'held', at });
      return; // stored, never answered (stop() closes the connection)
    }
    if (random() < (this.options.lostResponseRate ?? 0)) {
      this.calls.push({ identifier, outcome: 'stored-500', at });
      reply(500, { error: { type: 'api_error', message: 'Stored, but the answer was lost' } });
      return;
    }
    this.calls.push({ identifier, outcome: 'ok', at });
    const answer = () =>
      reply(200, {
        object: 'billing.meter_event',
        event_name: form.get('event_name'),
        identifier,
        payload: { stripe_customer_id: event.customer, value: String(event.value) },
        timestamp: event.timestamp,
        created: Math.floor(Date.now() / 1000),
        livemode: false,
      });
    if (this.options.latencyMs) setTimeout(answer, this.options.latencyMs);
    else answer();
  }

  /** Every line of an invoice by its id, served a page at a time (`limit`, `starting_after`) as Stripe lists them. */
  readonly invoiceLines = new Map<string, Array<Record<string, unknown> & { id: string }>>();
  /** Every line of a credit note by its id, served the same way. */
  readonly creditNoteLines = new Map<string, Array<Record<string, unknown> & { id: string }>>();
  /** Pages of lines served. */
  linePages = 0;
  private linesHeld?: { gate: Promise<void>; asked: number };

  /** Holds invoice-lines pages back until `release` (a slow Stripe); `asked` counts the pages asked for meanwhile. */
  holdLinePages(): { asked(): number; release(): void } {
    let open!: () => void;
    const held = { gate: new Promise<void>((resolve) => (open = resolve)), asked: 0 };
    this.linesHeld = held;
    return {
      asked: () => held.asked,
      release: () => {
        if (this.linesHeld === held) this.linesHeld = undefined;
        open();
      },
    };
  }

  private linesPage(url: string, all: Array<Record<string, unknown> & { id: string }>, query: URLSearchParams) {
    const after = query.get('starting_after');
    const from = after ? all.findIndex((line) => line.id === after) + 1 : 0;
    const data = all.slice(from, from + Number(query.get('limit') ?? 10));
    this.linePages++;
    return { object: 'list', url, has_more: from + data.length < all.length, data };
  }

  /** Customer balance credits and debits, replayed by idempotency key as Stripe does (the same answer, nothing new). */
  readonly balanceTransactions = new Map<string, { id: string; customer: string; amount: number; currency: string; description: string }>();

  private balanceTransaction(customer: string, form: URLSearchParams, idempotencyKey: string) {
    const known = idempotencyKey ? this.balanceTransactions.get(idempotencyKey) : undefined;
    const transaction = known ?? {
      id: `cbtxn_fake${this.balanceTransactions.size + 1}`,
      customer,
      amount: Number(form.get('amount')),
      currency: form.get('currency') ?? '',
      description: form.get('description') ?? '',
    };
    this.balanceTransactions.set(idempotencyKey || transaction.id, transaction);
    this.calls.push({ identifier: idempotencyKey, outcome: known ? 'replayed' : 'ok', at: Date.now() });
    return { object: 'customer_balance_transaction', type: 'adjustment', created: Math.floor(Date.now() / 1000), livemode: false, ...transaction };
  }

  private summaries(meterId: string, query: URLSearchParams) {
    const customer = query.get('customer');
    const start = Number(query.get('start_time'));
    const end = Number(query.get('end_time'));
    const hours = new Map<number, number>();
    const eventName = this.options.meters?.[meterId];
    for (const event of this.events.values()) {
      if (event.customer !== customer || event.timestamp < start || event.timestamp >= end) continue;
      if (eventName !== undefined && event.eventName !== undefined && event.eventName !== eventName) continue;
      const hour = Math.floor(event.timestamp / 3600) * 3600;
      hours.set(hour, (hours.get(hour) ?? 0) + event.value);
    }
    const data = [...hours]
      .sort(([a], [b]) => a - b)
      .map(([hour, value]) => ({
        object: 'billing.meter_event_summary',
        id: `mtrusg_${hour}`,
        meter: meterId,
        start_time: hour,
        end_time: hour + 3600,
        aggregated_value: value,
        livemode: false,
      }));
    return { object: 'list', url: `/v1/billing/meters/${meterId}/event_summaries`, has_more: false, data };
  }
}
