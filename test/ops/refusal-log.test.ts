import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { RefusalLog, REFUSAL_LOG_INTERVAL_MS, requestLogging } from '../../src/ops/request-log';

/** A pino logger whose JSON lines are kept in memory. */
function memoryLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('refusals are logged once per status and second, the rest counted (RefusalLog)', () => {
  it('logs the first refusal of an interval in full, counts the others into one line when it ends', async () => {
    const { logger, lines } = memoryLogger();
    let now = 0;
    const log = new RefusalLog(logger, 1_000, () => now);
    const firsts: boolean[] = [];
    for (let i = 0; i < 1_000; i++) {
      now = i;
      firsts.push(log.first(429));
    }
    expect(firsts.filter(Boolean)).toHaveLength(1);
    expect(firsts[0]).toBe(true);
    // Another status has its own interval: a 503 in the middle of the 429s is logged in full.
    expect(log.first(503)).toBe(true);
    expect(log.first(503)).toBe(false);

    now = 1_000;
    log.flush();
    await settle();
    expect(lines.map(({ level, statusCode, notLogged, msg }) => ({ level, statusCode, notLogged, msg }))).toEqual([
      { level: 40, statusCode: 429, notLogged: 999, msg: 'refusals not logged one by one' },
    ]);
    // The 503's interval began at 999: not over yet, so its count waits.
    now = 1_999;
    log.flush();
    await settle();
    expect(lines.at(-1)).toMatchObject({ level: 50, statusCode: 503, notLogged: 1 });
    // A new interval logs its first in full again.
    expect(log.first(429)).toBe(true);
  });

  it('over HTTP: a flood of 429s and 503s is a line each in full plus a count each; every 500 and no 200 is logged', async () => {
    const { logger, lines } = memoryLogger();
    const logging = requestLogging(logger);
    const server: Server = createServer((req, res) =>
      logging(req, res, () => {
        res.statusCode = Number(req.url?.slice(1));
        res.end('{}');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const ask = (status: number) =>
      new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: `/${status}`, method: 'POST' }, (res) => res.resume().on('end', resolve));
        req.on('error', reject).end();
      });
    try {
      const began = performance.now();
      await Promise.all([...Array.from({ length: 200 }, () => ask(429)), ...Array.from({ length: 100 }, () => ask(503))]);
      for (let i = 0; i < 5; i++) await ask(500);
      await ask(200);
      // A loaded machine may spread the flood over several intervals: each may log one of a status in
      // full, and every refusal is either logged in full or counted.
      const intervals = Math.ceil((performance.now() - began) / REFUSAL_LOG_INTERVAL_MS) + 1;
      // The counts are written once their interval is over (a timer the first counted refusal armed).
      await new Promise((resolve) => setTimeout(resolve, REFUSAL_LOG_INTERVAL_MS + 300));
      await settle();

      const completed = (status: number) => lines.filter((line) => line.msg === 'request completed' && line.statusCode === status);
      const counted = (status: number) =>
        lines
          .filter((line) => line.msg === 'refusals not logged one by one' && line.statusCode === status)
          .reduce((sum, line) => sum + Number(line.notLogged), 0);
      expect(completed(429).length).toBeGreaterThanOrEqual(1);
      expect(completed(429).length).toBeLessThanOrEqual(intervals);
      expect(completed(429)[0]).toMatchObject({ level: 40, url: '/429' });
      expect(completed(429).length + counted(429)).toBe(200);
      expect(completed(503).length).toBeGreaterThanOrEqual(1);
      expect(completed(503).length).toBeLessThanOrEqual(intervals);
      expect(completed(503).length + counted(503)).toBe(100);
      expect(completed(500)).toHaveLength(5);
      expect(completed(200)).toHaveLength(0); // debug
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
