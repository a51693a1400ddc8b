import type { TransactionEvent } from '../risk/contract';
import type { Channel } from '../risk/model/types';
import { Random } from './random';

/**
 * Synthetic card transactions for demos, tests and benchmarks: customers with a home country,
 * a few devices, favourite merchants and a typical spend, plus injected fraud (card testing,
 * account takeover with a geo jump, amount spikes), a little disorder (events a few seconds
 * out of order, a few late ones), redeliveries and, optionally, broken messages.
 * The same options (seed included) always give the same messages, byte for byte.
 */
export interface FeedOptions {
  seed: number;
  /** Seed of the customers' profiles and the merchants (default: `seed`): keep it to keep the same customers under a new event stream. */
  profileSeed?: number;
  customers: number;
  /** Events per second of event time: the spacing of the timestamps. */
  rate: number;
  /** Event time of the first event (epoch ms). */
  start: number;
  /** Per normal event, the chance to start each fraud scenario. */
  cardTesting?: number;
  takeover?: number;
  spike?: number;
  /** Share of messages that repeat an earlier one byte for byte (a redelivery). */
  duplicates?: number;
  /** Share of messages that break the contract (they must end up in the DLQ). */
  invalid?: number;
  /** Share of events stamped up to 4 s in the past (within the watermark). Default 0.005. */
  outOfOrder?: number;
  /** Share of events stamped 10-120 s in the past (late). */
  late?: number;
}

export type FeedKind = 'normal' | 'card-testing' | 'takeover' | 'spike' | 'duplicate' | 'invalid';

export interface FeedMessage {
  key: string;
  value: Buffer;
  kind: FeedKind;
  /** The event, when the message is a valid one. */
  event?: TransactionEvent;
}

interface Customer {
  id: string;
  home: string;
  currency: string;
  /** Median spend in the customer's currency. */
  typical: number;
  devices: string[];
  favourites: number[];
}

const HOMES: ReadonlyArray<readonly [string, number]> = [
  ['DE', 25],
  ['FR', 15],
  ['ES', 10],
  ['IT', 10],
  ['GB', 12],
  ['US', 12],
  ['NL', 8],
  ['AT', 4],
  ['BE', 4],
];
const CURRENCY: Record<string, string> = { GB: 'GBP', US: 'USD' };
const FAR_AWAY = ['BR', 'NG', 'TH', 'ID', 'MX', 'ZA', 'PH', 'VN'];
const NEARBY: Record<string, string[]> = {
  DE: ['AT', 'NL', 'FR', 'CH'],
  FR: ['BE', 'ES', 'IT', 'CH'],
  ES: ['PT', 'FR'],
  IT: ['FR', 'AT', 'CH'],
  GB: ['IE', 'FR'],
  US: ['CA', 'MX'],
  NL: ['BE', 'DE'],
  AT: ['DE', 'IT', 'CH'],
  BE: ['NL', 'FR', 'LU'],
};
const MCCS: ReadonlyArray<readonly [string, number]> = [
  ['5411', 30],
  ['5812', 20],
  ['5814', 10],
  ['5541', 10],
  ['5999', 10],
  ['5651', 8],
  ['4111', 8],
  ['5912', 6],
  ['5732', 4],
  ['7995', 1],
  ['4829', 1],
  ['6051', 0.5],
];
const CHANNEL_MIX: ReadonlyArray<readonly [Channel, number]> = [
  ['CARD_PRESENT', 55],
  ['ECOMMERCE', 38],
  ['ATM', 5],
  ['TRANSFER', 2],
];
const MERCHANTS = 5000;
const RECENT = 256;

export class TransactionFeed {
  private readonly random: Random;
  private readonly merchantMcc: string[];
  private readonly customers = new Map<number, Customer>();
  private readonly pending: Array<{ time: number; kind: FeedKind; make: (time: number) => TransactionEvent }> = [];
  private readonly recent: FeedMessage[] = [];
  private clock: number;
  private readonly step: number;
  readonly counts: Record<FeedKind, number> = { normal: 0, 'card-testing': 0, takeover: 0, spike: 0, duplicate: 0, invalid: 0 };

  private get profileSeed(): number {
    return this.options.profileSeed ?? this.options.seed;
  }

  constructor(private readonly options: FeedOptions) {
    if (!(options.customers >= 1)) throw new Error('customers must be at least 1');
    if (!(options.rate > 0)) throw new Error('rate must be positive');
    this.random = new Random(options.seed);
    const merchants = new Random(this.profileSeed ^ 0x5bd1e995);
    this.merchantMcc = Array.from({ length: MERCHANTS }, () => merchants.weighted(MCCS));
    this.clock = options.start;
    this.step = 1000 / options.rate;
  }

  /** Event time the feed has reached. */
  get now(): number {
    return this.clock;
  }

  next(): FeedMessage {
    const message = this.produce();
    if (message.kind !== 'duplicate' && message.kind !== 'invalid') {
      this.recent.push(message);
      if (this.recent.length > RECENT) this.recent.shift();
    }
    this.counts[message.kind]++;
    this.clock += this.step;
    return message;
  }

  private produce(): FeedMessage {
    const r = this.random;
    const o = this.options;
    if (this.pending.length && this.pending[0].time <= this.clock) {
      const due = this.pending.shift()!;
      return this.message(due.make(due.time), due.kind);
    }
    if (this.recent.length && r.chance(o.duplicates ?? 0.001)) {
      const original = this.recent[r.int(Math.max(0, this.recent.length - 32), this.recent.length - 1)];
      return { ...original, kind: 'duplicate' };
    }
    if (r.chance(o.invalid ?? 0)) return this.invalidMessage();

    const index = r.int(0, o.customers - 1);
    const customer = this.customer(index);
    if (r.chance(o.cardTesting ?? 0.002)) this.scheduleCardTesting(customer);
    else if (r.chance(o.takeover ?? 0.001)) this.scheduleTakeover(customer);
    else if (r.chance(o.spike ?? 0.002)) this.scheduleSpike(customer);

    let time = Math.floor(this.clock);
    if (r.chance(o.late ?? 0.001)) time -= r.int(10_000, 120_000);
    else if (r.chance(o.outOfOrder ?? 0.005)) time -= r.int(1, 4_000);
    return this.message(this.normalEvent(customer, time), 'normal');
  }

  private message(event: TransactionEvent, kind: FeedKind): FeedMessage {
    return { key: event.customerId, value: Buffer.from(JSON.stringify(event)), kind, event };
  }

  private customer(index: number): Customer {
    let customer = this.customers.get(index);
    if (!customer) {
      const r = new Random((this.profileSeed * 31 + index * 2654435761) >>> 0);
      const home = r.weighted(HOMES);
      customer = {
        id: `c-${index}`,
        home,
        currency: CURRENCY[home] ?? 'EUR',
        typical: Math.exp(3.2 + 0.6 * r.normal()),
        devices: Array.from({ length: r.int(1, 2) }, (_, k) => `d-${index}-${k}`),
        favourites: Array.from({ length: 6 }, () => r.int(0, MERCHANTS - 1)),
      };
      this.customers.set(index, customer);
    }
    return customer;
  }

  private event(
    customer: Customer,
    time: number,
    fields: { merchant: number; amount: number; channel: Channel; country: string; deviceId: string; mcc?: string; currency?: string },
  ): TransactionEvent {
    return {
      eventId: this.random.uuid(),
      customerId: customer.id,
      merchantId: `m-${fields.merchant}`,
      mcc: fields.mcc ?? this.merchantMcc[fields.merchant],
      amount: Math.max(0.01, fields.amount).toFixed(2),
      currency: fields.currency ?? customer.currency,
      country: fields.country,
      channel: fields.channel,
      deviceId: fields.deviceId,
      timestamp: new Date(time).toISOString(),
    };
  }

  private normalEvent(customer: Customer, time: number): TransactionEvent {
    const r = this.random;
    const channel = r.weighted(CHANNEL_MIX);
    const merchant = r.chance(0.85) ? r.pick(customer.favourites) : r.int(0, MERCHANTS - 1);
    const abroad = channel === 'ECOMMERCE' && r.chance(0.01);
    const country = abroad ? r.pick(NEARBY[customer.home] ?? ['FR']) : customer.home;
    const amount = customer.typical * Math.exp(0.5 * r.normal()) * (channel === 'ATM' ? 3 : 1);
    const deviceId = channel === 'CARD_PRESENT' ? `t-${merchant}` : channel === 'ATM' ? `atm-${country}-${merchant % 97}` : r.pick(customer.devices);
    return this.event(customer, time, { merchant, amount: channel === 'ATM' ? Math.round(amount / 10) * 10 : amount, channel, country, deviceId });
  }

  private schedule(time: number, kind: FeedKind, make: (time: number) => TransactionEvent): void {
    let at = this.pending.length;
    while (at > 0 && this.pending[at - 1].time > time) at--;
    this.pending.splice(at, 0, { time, kind, make });
  }

  /** A stolen card number tried with many tiny online payments, then a cash-out. */
  private scheduleCardTesting(customer: Customer): void {
    const r = this.random;
    const device = `d-x${r.int(0, 1e9)}`;
    let time = Math.floor(this.clock);
    const tries = r.int(6, 14);
    for (let i = 0; i < tries; i++) {
      time += r.int(2_000, 12_000);
      this.schedule(time, 'card-testing', (at) =>
        this.event(customer, at, {
          merchant: r.int(0, MERCHANTS - 1),
          amount: 0.5 + r.next() * 2.5,
          channel: 'ECOMMERCE',
          country: customer.home,
          deviceId: device,
          mcc: '5999',
        }),
      );
    }
    this.schedule(time + r.int(30_000, 120_000), 'card-testing', (at) =>
      this.event(customer, at, {
        merchant: r.int(0, MERCHANTS - 1),
        amount: 300 + r.next() * 600,
        channel: 'ECOMMERCE',
        country: customer.home,
        deviceId: device,
        mcc: '5732',
      }),
    );
  }

  /** A taken-over account: a purchase at home, minutes later cash abroad, then big online spending on a new device. */
  private scheduleTakeover(customer: Customer): void {
    const r = this.random;
    const far = r.pick(FAR_AWAY);
    const device = `d-x${r.int(0, 1e9)}`;
    let time = Math.floor(this.clock);
    this.schedule(time, 'takeover', (at) => this.normalAt(customer, at, 'CARD_PRESENT', customer.home));
    time += r.int(3, 15) * 60_000;
    this.schedule(time, 'takeover', (at) =>
      this.event(customer, at, {
        merchant: r.int(0, MERCHANTS - 1),
        amount: 200 + r.int(0, 30) * 10,
        channel: 'ATM',
        country: far,
        deviceId: `atm-${far}-1`,
        mcc: '6011',
      }),
    );
    for (let i = 0, n = r.int(2, 4); i < n; i++) {
      time += r.int(30_000, 180_000);
      this.schedule(time, 'takeover', (at) =>
        this.event(customer, at, {
          merchant: r.int(0, MERCHANTS - 1),
          amount: customer.typical * (5 + r.next() * 15),
          channel: 'ECOMMERCE',
          country: far,
          deviceId: device,
          mcc: r.pick(['5732', '6051', '5944']),
        }),
      );
    }
  }

  /**
   * A demo's first seconds: three customers whose stories end MEDIUM (card testing), HIGH
   * (cash abroad minutes after a purchase at home) and CRITICAL (a takeover: cash abroad, then
   * crypto and electronics on a new device), each after a few ordinary purchases, all within
   * about `spanMs` of event time from now. Scheduled like any scenario (same seed, same events).
   */
  showcase(spanMs = 8_000): void {
    const r = this.random;
    const start = Math.floor(this.clock);
    const at = (share: number) => start + Math.floor(share * spanMs);
    const [tester, traveller, victim] = [0, 1, 2].map((index) => this.customer(index % this.options.customers));
    for (const [k, customer] of [tester, traveller, victim].entries()) {
      for (let i = 0; i < 6; i++) this.schedule(at((k * 6 + i) / 60), 'normal', (time) => this.normalAt(customer, time, 'CARD_PRESENT', customer.home));
    }
    const testerDevice = `d-x${r.int(0, 1e9)}`;
    for (let i = 0; i < 5; i++) {
      this.schedule(at(0.45 + i * 0.04), 'card-testing', (time) =>
        this.event(tester, time, {
          merchant: r.int(0, MERCHANTS - 1),
          amount: 0.5 + r.next() * 2.5,
          channel: 'ECOMMERCE',
          country: tester.home,
          deviceId: testerDevice,
          mcc: '5999',
        }),
      );
    }
    const far = FAR_AWAY[0];
    this.schedule(at(0.7), 'takeover', (time) =>
      this.event(traveller, time, {
        merchant: r.int(0, MERCHANTS - 1),
        amount: traveller.typical,
        channel: 'ATM',
        country: far,
        deviceId: `atm-${far}-1`,
        mcc: '6011',
      }),
    );
    this.schedule(at(0.75), 'takeover', (time) =>
      this.event(victim, time, {
        merchant: r.int(0, MERCHANTS - 1),
        amount: victim.typical * 10,
        channel: 'ATM',
        country: far,
        deviceId: `atm-${far}-2`,
        mcc: '6011',
      }),
    );
    this.schedule(at(0.85), 'takeover', (time) =>
      this.event(victim, time, {
        merchant: r.int(0, MERCHANTS - 1),
        amount: victim.typical * 80,
        channel: 'ECOMMERCE',
        country: far,
        deviceId: `d-x${r.int(0, 1e9)}`,
        mcc: '6051',
      }),
    );
  }

  /** One purchase far above the customer's usual spend. */
  private scheduleSpike(customer: Customer): void {
    const r = this.random;
    this.schedule(Math.floor(this.clock) + r.int(1_000, 60_000), 'spike', (at) =>
      this.event(customer, at, {
        merchant: r.int(0, MERCHANTS - 1),
        amount: customer.typical * (15 + r.next() * 25),
        channel: 'ECOMMERCE',
        country: customer.home,
        deviceId: r.pick(customer.devices),
        mcc: r.pick(['5732', '5944']),
      }),
    );
  }

  private normalAt(customer: Customer, time: number, channel: Channel, country: string): TransactionEvent {
    const r = this.random;
    const merchant = r.pick(customer.favourites);
    return this.event(customer, time, {
      merchant,
      amount: customer.typical * Math.exp(0.5 * r.normal()),
      channel,
      country,
      deviceId: channel === 'CARD_PRESENT' ? `t-${merchant}` : r.pick(customer.devices),
    });
  }

  private invalidMessage(): FeedMessage {
    const r = this.random;
    const customer = this.customer(r.int(0, this.options.customers - 1));
    const good = this.normalEvent(customer, Math.floor(this.clock));
    const json = JSON.stringify(good);
    const broken: Array<() => FeedMessage> = [
      () => ({ key: good.customerId, value: Buffer.from(json.slice(0, json.length >> 1)), kind: 'invalid' }),
      () => ({ key: good.customerId, value: Buffer.from(JSON.stringify({ ...good, amount: '-5.00' })), kind: 'invalid' }),
      () => ({ key: good.customerId, value: Buffer.from(JSON.stringify({ ...good, channel: 'MAIL_ORDER' })), kind: 'invalid' }),
      () => ({ key: good.customerId, value: Buffer.from(JSON.stringify({ ...good, timestamp: undefined })), kind: 'invalid' }),
      () => ({ key: good.customerId, value: Buffer.from(JSON.stringify({ ...good, merchantId: 'm'.repeat(8192) })), kind: 'invalid' }),
      () => ({ key: 'someone-else', value: Buffer.from(json), kind: 'invalid' }),
    ];
    return r.pick(broken)();
  }
}
