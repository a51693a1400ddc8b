import type { ServerResponse } from 'node:http';
import WebSocket from 'ws';
import { AdmissionControl, EventLoopDelay, SHED_AT, type Admitted, type Priority } from '../../src/limits/overload';
import { errorBody, sendError, TollgraphError } from '../../src/errors';
import { startTestGateway, type TestGateway } from '../support/harness';
import { waitFor } from '../support/process';
import { heldRequest, opened, rawRequest } from '../support/raw-http';

/** What `admit` answered: admitted, or the refusal's code, status, Retry-After and priority. */
function outcome(control: AdmissionControl, priority: Priority, accountId?: string, reserved = 0): Admitted | string {
  try {
    return control.admit(priority, accountId, reserved);
  } catch (error) {
    if (!(error instanceof TollgraphError)) throw error;
    const http = error.extensions.http as { status: number; headers: Map<string, string> };
    return `${error.code} ${http.status} retry-after=${http.headers.get('retry-after')} ${String(error.extensions.priority)}`;
  }
}

const admitted = (result: Admitted | string): result is Admitted => typeof result !== 'string';

describe('admission under overload (the policy)', () => {
  it('sheds the lowest tiers first as requests in flight rise, and admits again as they finish', () => {
    const control = new AdmissionControl({ enabled: true, maxInFlight: 8, maxEventLoopDelayMs: 100 }, () => 0);
    const held: Admitted[] = [];
    const fill = (n: number) => {
      for (let i = 0; i < n; i++) held.push(control.admit('ENTERPRISE'));
    };
    fill(3);
    expect(admitted(outcome(control, 'ANONYMOUS'))).toBe(true); // 3/8 in flight before it: below one half
    // 4 in flight: pressure 0.5.
    expect(outcome(control, 'ANONYMOUS')).toBe('OVERLOADED 503 retry-after=1 ANONYMOUS');
    expect(admitted(outcome(control, 'FREE'))).toBe(true); // now 5
    fill(1); // 6: pressure 0.75
    expect(outcome(control, 'FREE')).toBe('OVERLOADED 503 retry-after=1 FREE');
    expect(admitted(outcome(control, 'PROFESSIONAL'))).toBe(true); // 7
    fill(1); // 8: pressure 1
    expect(outcome(control, 'PROFESSIONAL')).toBe('OVERLOADED 503 retry-after=1 PROFESSIONAL');
    expect(admitted(outcome(control, 'ENTERPRISE'))).toBe(true); // never shed by pressure
    expect(control.requestsInFlight).toBe(9);
    for (const slot of held) slot.release();
    expect(control.requestsInFlight).toBe(9 - held.length); // 4: pressure 0.5 again
    expect(outcome(control, 'ANONYMOUS')).toBe('OVERLOADED 503 retry-after=1 ANONYMOUS');
    expect(admitted(outcome(control, 'FREE'))).toBe(true);
  });

  it('sheds by event-loop delay the same way (CPU-heavy requests, few in flight)', () => {
    let delay = 0;
    const control = new AdmissionControl({ enabled: true, maxInFlight: 1000, maxEventLoopDelayMs: 100 }, () => delay);
    const shedAt = (ms: number) => {
      delay = ms;
      return (['ANONYMOUS', 'FREE', 'PROFESSIONAL', 'ENTERPRISE'] as const).filter((priority) => !admitted(outcome(control, priority)));
    };
    expect(shedAt(10)).toEqual([]);
    expect(shedAt(50)).toEqual(['ANONYMOUS']);
    expect(shedAt(80)).toEqual(['ANONYMOUS', 'FREE']);
    expect(shedAt(250)).toEqual(['ANONYMOUS', 'FREE', 'PROFESSIONAL']);
    expect(SHED_AT.ENTERPRISE).toBe(Number.POSITIVE_INFINITY);
  });

  it('honours reserved concurrency: the account always gets its slots, and the others share what remains', () => {
    const control = new AdmissionControl({ enabled: true, maxInFlight: 10, maxEventLoopDelayMs: 100 }, () => 0);
    // Until the process knows of the reservation, FREE is shed at 7.5 of 10 in flight.
    const a = control.admit('PROFESSIONAL', 'account-a', 4); // the reservation is now known: shared capacity 6
    for (let i = 0; i < 4; i++) control.admit('FREE', 'account-f');
    // 4 of 6 shared in use: 0.67 (the reserved request does not count against the shared capacity).
    expect(admitted(outcome(control, 'FREE', 'account-f'))).toBe(true); // 5 of 6
    expect(outcome(control, 'FREE', 'account-f')).toBe('OVERLOADED 503 retry-after=1 FREE');
    control.admit('PROFESSIONAL', 'account-p');
    expect(outcome(control, 'PROFESSIONAL', 'account-p')).toBe('OVERLOADED 503 retry-after=1 PROFESSIONAL'); // shared capacity full
    // The reserved account still gets its remaining 3 slots, then is shed like its tier.
    for (let i = 0; i < 3; i++) expect(admitted(outcome(control, 'PROFESSIONAL', 'account-a', 4))).toBe(true);
    expect(outcome(control, 'PROFESSIONAL', 'account-a', 4)).toBe('OVERLOADED 503 retry-after=1 PROFESSIONAL');
    a.release();
    expect(admitted(outcome(control, 'PROFESSIONAL', 'account-a', 4))).toBe(true);
    // A lowered reservation applies from the account's next request: the shared capacity grows
    // back to 8, of which 6 are in use (0.75: FREE is shed, PROFESSIONAL admitted).
    expect(admitted(outcome(control, 'PROFESSIONAL', 'account-a', 2))).toBe(true);
    expect(outcome(control, 'FREE', 'account-f')).toBe('OVERLOADED 503 retry-after=1 FREE');
  });

  it('with a concurrency limit, runs the highest tier waiting when a slot frees; ENTERPRISE and reserved slots never wait', async () => {
    const control = new AdmissionControl({ enabled: true, maxInFlight: 100, maxEventLoopDelayMs: 1000, concurrency: 2, maxQueueMs: 60_000 }, () => 0);
    const [a, b] = [control.admit('FREE'), control.admit('FREE')];
    expect(a.ready).toBeUndefined();
    expect(b.ready).toBeUndefined();
    const ran: string[] = [];
    const wait = (priority: Priority, label: string = priority) => {
      const slot = control.admit(priority);
      void slot.ready!.then(() => ran.push(label));
      return slot;
    };
    const anonymous = wait('ANONYMOUS');
    const free = wait('FREE');
    const professional = wait('PROFESSIONAL');
    const later = wait('PROFESSIONAL', 'PROFESSIONAL 2');
    expect(control.requestsQueued).toBe(4);
    const enterprise = control.admit('ENTERPRISE');
    expect(enterprise.ready).toBeUndefined(); // 3 running now
    const reserved = control.admit('FREE', 'account-r', 1);
    expect(reserved.ready).toBeUndefined(); // 4 running
    expect(control.requestsInFlight).toBe(8);

    const settled = () => new Promise((resolve) => setImmediate(resolve));
    a.release();
    enterprise.release();
    reserved.release();
    await settled();
    expect(ran).toEqual(['PROFESSIONAL']); // 2 running again: b and the first PROFESSIONAL
    b.release();
    await settled();
    expect(ran).toEqual(['PROFESSIONAL', 'PROFESSIONAL 2']);
    professional.release();
    later.release();
    await settled();
    expect(ran).toEqual(['PROFESSIONAL', 'PROFESSIONAL 2', 'FREE', 'ANONYMOUS']);
    expect(control.requestsQueued).toBe(0);
    free.release();
    anonymous.release();
    anonymous.release();
    expect(control.requestsInFlight).toBe(0);
    expect(control.admit('ANONYMOUS').ready).toBeUndefined();
  });

  it('sheds a request that waited maxQueueMs (OVERLOADED, counted, never run) and forgets one whose client left', async () => {
    jest.useFakeTimers();
    try {
      const shed = jest.fn();
      const waited = jest.fn();
      const control = new AdmissionControl({ enabled: true, maxInFlight: 100, maxEventLoopDelayMs: 1000, concurrency: 1, maxQueueMs: 100 }, () => 0, {
        shed,
        waited,
      });
      const running = control.admit('PROFESSIONAL');
      const free = control.admit('FREE');
      const outcome = free.ready!.then(
        () => 'ran',
        (error: TollgraphError) => `${error.code} ${String(error.extensions.priority)}`,
      );
      const left = control.admit('PROFESSIONAL');
      const leftRan = jest.fn();
      void left.ready!.then(leftRan);
      left.release(); // its client closed the connection
      expect(control.requestsQueued).toBe(1);
      expect(control.requestsInFlight).toBe(2);

      jest.advanceTimersByTime(99);
      expect(shed).not.toHaveBeenCalled();
      jest.advanceTimersByTime(1);
      expect(await outcome).toBe('OVERLOADED FREE');
      expect(shed).toHaveBeenCalledWith('FREE');
      expect(waited.mock.calls).toEqual([
        ['PROFESSIONAL', expect.closeTo(0, 6)],
        ['FREE', expect.closeTo(0.1, 6)],
      ]);
      expect(control.requestsQueued).toBe(0);
      expect(control.requestsInFlight).toBe(1);
      free.release(); // the refusal's answer went out: nothing more to free

      running.release();
      await Promise.resolve();
      expect(leftRan).not.toHaveBeenCalled();
      expect(control.requestsInFlight).toBe(0);
      expect(control.admit('FREE').ready).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses cheaply: the refusal captures no stack, and its body is the code and message without the HTTP head', () => {
    const control = new AdmissionControl({ enabled: true, maxInFlight: 1, maxEventLoopDelayMs: 100 }, () => 0);
    const held = control.admit('ENTERPRISE');
    let refusal: unknown;
    try {
      control.admit('FREE');
    } catch (error) {
      refusal = error;
    }
    held.release();
    expect(refusal).toBeInstanceOf(TollgraphError);
    // A stack is frames V8 collects per error: a flood of refusals paid for them (44-50 against 12.5 µs an error and body).
    expect((refusal as Error).stack).not.toMatch(/\n\s+at /);
    expect(errorBody(refusal as TollgraphError)).toEqual({
      errors: [{ message: (refusal as Error).message, extensions: { code: 'OVERLOADED', priority: 'FREE', retryAfterSeconds: expect.any(Number) } }],
    });
    // Errors that are faults keep their stacks, also after an error that failed to be built.
    expect(new Error('a fault').stack).toMatch(/\n\s+at /);
    const limit = Error.stackTraceLimit;
    const unreadable = {
      get detail(): never {
        throw new Error('unreadable extensions');
      },
    };
    expect(() => new TollgraphError('BAD_USER_INPUT', 'bad', { extensions: unreadable })).toThrow('unreadable extensions');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('a fault').stack).toMatch(/\n\s+at /);
  });

  it('refuses a tier with one error made once, whose answer is serialised once (building them was 40 of 145 µs a refusal)', () => {
    const control = new AdmissionControl({ enabled: true, maxInFlight: 1, maxEventLoopDelayMs: 100 }, () => 0);
    const held = control.admit('ENTERPRISE');
    const refusalOf = (priority: Priority) => {
      try {
        control.admit(priority);
      } catch (error) {
        return error as TollgraphError;
      }
      throw new Error(`${priority} was admitted`);
    };
    const [free, again, anonymous] = [refusalOf('FREE'), refusalOf('FREE'), refusalOf('ANONYMOUS')];
    held.release();
    expect(again).toBe(free);
    expect(anonymous).not.toBe(free);
    expect(anonymous.extensions.priority).toBe('ANONYMOUS');

    const answers = [0, 1].map(() => {
      const head = new Map<string, unknown>();
      const answer = {
        statusCode: 200,
        body: undefined as unknown,
        setHeader: (name: string, value: unknown) => head.set(name, value),
        end: (body: unknown) => (answer.body = body),
      };
      sendError(answer as unknown as ServerResponse, free);
      return { ...answer, head };
    });
    expect(answers[1].body).toBe(answers[0].body);
    for (const answer of answers) {
      expect(answer.statusCode).toBe(503);
      expect(Object.fromEntries(answer.head)).toEqual({
        'retry-after': '1',
        'content-type': 'application/json; charset=utf-8',
        'content-length': (answer.body as Buffer).length,
      });
      expect(JSON.parse(String(answer.body))).toEqual(errorBody(free));
    }
  });

  it('admits everything when shedding is off (and a slot is released once however often)', () => {
    const control = new AdmissionControl({ enabled: false, maxInFlight: 1, maxEventLoopDelayMs: 1 }, () => 1000);
    const slots = [control.admit('ANONYMOUS'), control.admit('FREE'), control.admit('FREE')];
    expect(control.requestsInFlight).toBe(3);
    slots[0].release();
    slots[0].release();
    expect(control.requestsInFlight).toBe(2);
  });
});

/** Blocks this process's event loop for `ms`. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Long tasks back to back, each followed by one turn of the event loop: a saturated process, as a flood of CPU-heavy requests makes it. */
async function saturate(tasks: number, ms: number): Promise<void> {
  for (let i = 0; i < tasks; i++) {
    stall(ms);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('event-loop delay (the saturation signal)', () => {
  it('ignores a single pause and reports a sustained delay', async () => {
    const delay = new EventLoopDelay();
    try {
      await new Promise((resolve) => setTimeout(resolve, 150));
      stall(300); // one pause: a garbage collection, a WebAssembly module loading
      await new Promise((resolve) => setTimeout(resolve, 25));
      expect(delay.current()).toBeLessThan(20);
      await saturate(6, 100);
      expect(delay.current()).toBeGreaterThanOrEqual(60);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(delay.current()).toBeLessThan(20);
    } finally {
      delay.stop();
    }
  });
});

describe('admission under overload (a gateway on the real services)', () => {
  let gateway: TestGateway;
  const keys: Partial<Record<Priority | 'RESERVED', { key: string; accountId: string }>> = {};
  /** Costs exactly 1 (a billable call). */
  const ownAccount = (plan: keyof typeof keys) => `{ account(id: "${keys[plan]!.accountId}") { id } }`;

  beforeAll(async () => {
    gateway = await startTestGateway({ OVERLOAD_SHEDDING: 'true' });
    // A PROFESSIONAL account with 2 requests in flight reserved in each process (an admin override).
    keys.RESERVED = await gateway.newKey({ plan: 'PROFESSIONAL' });
    await gateway.services.accounts.setOverrides(keys.RESERVED.accountId, { reservedConcurrency: 2 }, { type: 'system:test' });
    for (const plan of ['FREE', 'PROFESSIONAL', 'ENTERPRISE', 'RESERVED'] as const) {
      keys[plan] ??= await gateway.newKey({ plan: plan === 'RESERVED' ? 'PROFESSIONAL' : plan });
      // Verified once, so the stalled requests find it in the process's cache.
      expect((await gateway.query(ownAccount(plan), { key: keys[plan]!.key })).status).toBe(200);
    }
  });
  afterAll(() => gateway?.stop());

  const usageOf = (accountId: string) => gateway.services.db.prisma.usageRecord.count({ where: { accountId } });
  /** Requests without a key counted against this machine's addresses (the per-address limit, in Redis). */
  const anonymousCounted = async () => {
    const redis = gateway.services.redis!;
    const keys = await redis.keys(`${gateway.services.config.REDIS_KEY_PREFIX}limits:anonymous:*`);
    const counts = keys.length ? await redis.mget(keys) : [];
    return counts.reduce((sum, count) => sum + Number(count ?? 0), 0);
  };

  it('while the event loop is saturated, sheds anonymous, FREE and PROFESSIONAL requests (503 OVERLOADED, Retry-After, uncharged) and serves ENTERPRISE', async () => {
    const usageBefore = {
      FREE: await usageOf(keys.FREE!.accountId),
      PROFESSIONAL: await usageOf(keys.PROFESSIONAL!.accountId),
      ENTERPRISE: await usageOf(keys.ENTERPRISE!.accountId),
    };
    const anonymousBefore = await anonymousCounted();
    // Connected now; the server (this process) accepts them in the saturation's first turn.
    const sockets = await Promise.all([0, 1, 2, 3, 4].map(() => opened(gateway.url)));
    await saturate(4, 250);
    const answers = Promise.all([
      rawRequest(sockets[0], undefined, '{ health { status } }'),
      rawRequest(sockets[1], keys.FREE!.key, ownAccount('FREE')),
      rawRequest(sockets[2], keys.PROFESSIONAL!.key, ownAccount('PROFESSIONAL')),
      rawRequest(sockets[3], keys.ENTERPRISE!.key, ownAccount('ENTERPRISE')),
      rawRequest(sockets[4], keys.RESERVED!.key, ownAccount('RESERVED')),
    ]);
    stall(250);
    const [anonymous, free, professional, enterprise, reserved] = await answers;

    for (const [answer, priority] of [
      [anonymous, 'ANONYMOUS'],
      [free, 'FREE'],
      [professional, 'PROFESSIONAL'],
    ] as const) {
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('1');
      expect(answer.body.errors[0].extensions).toMatchObject({ code: 'OVERLOADED', priority, retryAfterSeconds: 1 });
    }
    expect(enterprise.status).toBe(200);
    expect(enterprise.body.data.account.id).toBe(keys.ENTERPRISE!.accountId);
    // Its reserved concurrency serves the PROFESSIONAL account whose tier is shed.
    expect(reserved.status).toBe(200);

    // Shed requests were never charged; the served one was (its record is durable before its answer).
    expect(await usageOf(keys.FREE!.accountId)).toBe(usageBefore.FREE);
    expect(await usageOf(keys.PROFESSIONAL!.accountId)).toBe(usageBefore.PROFESSIONAL);
    expect(await usageOf(keys.ENTERPRISE!.accountId)).toBe(usageBefore.ENTERPRISE + 1);
    // The shed request without a key cost no Redis round trip: its address's budget is untouched.
    expect(await anonymousCounted()).toBe(anonymousBefore);

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const priority of ['ANONYMOUS', 'FREE', 'PROFESSIONAL'])
      expect(metrics).toMatch(new RegExp(`tollgraph_overload_shed_total\\{priority="${priority}"\\} [1-9]`));

    // Once the process is no longer saturated, everyone is served again: FREE, then (its threshold is
    // the lowest, so it can still be shed just after FREE is served) a request without a key.
    await waitFor('FREE served again', async () => (await gateway.query(ownAccount('FREE'), { key: keys.FREE!.key })).status === 200, 10_000, 50);
    await waitFor('anonymous served again', async () => (await gateway.query('{ health { status } }')).status === 200, 10_000, 50);
    // Only the request that was served counted against its address: a shed one costs no Redis round trip.
    expect(await anonymousCounted()).toBe(anonymousBefore + 1);
  });

  it('sheds a live feed starting under overload over the WebSocket, by the same policy', async () => {
    const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${keys.FREE!.key}` } }));
    await new Promise<void>((resolve) => {
      const wait = () => (messages.some((m) => m.type === 'connection_ack') ? resolve() : setTimeout(wait, 10));
      wait();
    });
    await saturate(4, 250);
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { riskScoreUpdated { customerId band } }' } }));
    stall(250);
    await new Promise<void>((resolve) => {
      const wait = () => (messages.some((m) => m.id === '1') ? resolve() : setTimeout(wait, 10));
      wait();
    });
    socket.close();
    const answer = messages.find((m) => m.id === '1');
    expect(answer.type).toBe('error');
    expect(answer.payload[0].extensions).toMatchObject({ code: 'OVERLOADED', priority: 'FREE' });
  });
});

describe('a concurrency limit (a gateway on the real services)', () => {
  const limited = (maxQueueMs: number) => ({
    OVERLOAD_SHEDDING: 'true',
    OVERLOAD_CONCURRENCY: '1',
    OVERLOAD_MAX_QUEUE_MS: String(maxQueueMs),
    // Only the queue acts here: the machine's own load must not shed anyone by pressure.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '100000',
  });
  let patient: TestGateway;
  let impatient: TestGateway;
  beforeAll(async () => {
    patient = await startTestGateway(limited(60_000));
    impatient = await startTestGateway(limited(300));
  });
  afterAll(async () => {
    await patient?.stop();
    await impatient?.stop();
  });

  const own = (accountId: string) => `{ account(id: "${accountId}") { id } }`;
  const metric = async (gateway: TestGateway, name: string) =>
    Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1]);
  /** A key whose account has been served once (so its key is in the process's cache). */
  const verifiedKey = async (gateway: TestGateway, plan: 'FREE' | 'PROFESSIONAL') => {
    const key = await gateway.newKey({ plan });
    expect((await gateway.query(own(key.accountId), { key: key.key })).status).toBe(200);
    return key;
  };
  /** A request that runs (admitted, its body held back) and so holds the only slot until `finish`. */
  const holdTheSlot = async (gateway: TestGateway) => {
    const holder = await verifiedKey(gateway, 'FREE');
    const held = heldRequest(await opened(gateway.url), holder.key, own(holder.accountId));
    // In flight once the server has admitted it (/metrics itself is not admitted).
    await waitFor('the held request admitted', async () => (await metric(gateway, 'tollgraph_overload_in_flight')) === 1, 10_000, 10);
    return held;
  };

  it('hands the freed slot to the highest tier waiting, whatever the order they came in', async () => {
    const [free, professional] = [await verifiedKey(patient, 'FREE'), await verifiedKey(patient, 'PROFESSIONAL')];
    const held = await holdTheSlot(patient);
    const answered: string[] = [];
    /** Sends a request and waits until it is queued; its answer comes later (wrapped: an async function's returned promise would be awaited). */
    const send = async (label: string, key: { key: string; accountId: string }, queued: number) => {
      const answer = rawRequest(await opened(patient.url), key.key, own(key.accountId)).then((result) => {
        answered.push(label);
        return result;
      });
      await waitFor(`${label} waiting`, async () => (await metric(patient, 'tollgraph_overload_queued')) === queued, 10_000, 10);
      return { answer };
    };
    const { answer: freeAnswer } = await send('FREE', free, 1);
    const { answer: professionalAnswer } = await send('PROFESSIONAL', professional, 2);
    expect(answered).toEqual([]);
    held.finish();
    const answers = await Promise.all([held.answer, professionalAnswer, freeAnswer]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(answered).toEqual(['PROFESSIONAL', 'FREE']);
    expect(await metric(patient, 'tollgraph_overload_queued')).toBe(0);
  });

  it('sheds a request that waited OVERLOAD_MAX_QUEUE_MS (503 OVERLOADED, Retry-After, uncharged)', async () => {
    const free = await verifiedKey(impatient, 'FREE');
    const usage = () => impatient.services.db.prisma.usageRecord.count({ where: { accountId: free.accountId } });
    const before = await usage();
    const held = await holdTheSlot(impatient);
    const began = performance.now();
    const answer = await rawRequest(await opened(impatient.url), free.key, own(free.accountId));
    expect(performance.now() - began).toBeGreaterThanOrEqual(250); // it waited (timers keep loop time, which may be a little behind)
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(answer.body.errors[0].extensions).toMatchObject({ code: 'OVERLOADED', priority: 'FREE' });
    expect(await usage()).toBe(before);
    held.finish();
    expect((await held.answer).status).toBe(200);
    expect(await metric(impatient, 'tollgraph_overload_shed_total{priority="FREE"}')).toBe(1);
  });
});
