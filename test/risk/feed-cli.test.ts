import { loadConfig } from '../../src/config/load';
import { decodeTransaction } from '../../src/risk/contract';
import { runBuilt } from '../support/process';
import { endOffsetTotal, isolatedSettings, testTopics } from './support';

describe('tollgraph feed', () => {
  const feed = (args: string[], env: Record<string, string> = {}) => runBuilt('bin/tollgraph.js', env, ['feed', ...args]);

  it('prints the same valid transactions for the same seed and start', async () => {
    const args = ['--stdout', '--count', '300', '--rate', '50', '--customers', '20', '--seed', '7', '--start', '2026-11-24T10:00:00Z', '--no-pace'];
    const [a, b] = [feed(args), feed(args)];
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(a.output()).toBe(b.output());
    const lines = a.output().trim().split('\n');
    expect(lines).toHaveLength(300);
    for (const line of lines) {
      const event = JSON.parse(line);
      expect(decodeTransaction(Buffer.from(line), event.customerId, 4096)).toMatchObject({ ok: true });
    }
    // Timestamps advance 1/rate s per event from --start (a few are deliberately out of order).
    expect(JSON.parse(lines[0]).timestamp).toBe('2026-11-24T10:00:00.000Z');
  });

  it('produces to the transactions topic, keyed by customer, creating the topics it needs', async () => {
    const settings = isolatedSettings();
    const env = { ...settings, DATABASE_URL: 'postgresql://unused@127.0.0.1:1/unused' };
    const run = feed(['--count', '500', '--rate', '1000', '--customers', '50', '--seed', '1'], env);
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/produced 500 messages to tg-test-\w+-transactions/);
    const topics = await testTopics(loadConfig(settings));
    try {
      expect(await endOffsetTotal(topics.kafka, topics.topics.transactions)).toBe(500);
    } finally {
      await topics.close();
    }
  });
});
