import { privateService, type PrivateService } from '../support/private-service';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';

interface ReadyBody {
  ready: boolean;
  failed?: string[];
  dependencies: Record<string, { ok: boolean; error?: string }>;
}

describe('/readyz against real services', () => {
  let postgres: PrivateService;
  let gateway: RunningProcess;

  beforeAll(async () => {
    postgres = await privateService('postgres');
    gateway = await startGatewayProcess({
      DATABASE_URL: postgres.url,
      REDIS_URL: process.env.REDIS_URL ?? '',
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      READINESS_TIMEOUT_MS: '1000',
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await postgres?.destroy();
  });

  const readyz = async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    return { status: response.status, body: (await response.json()) as ReadyBody };
  };

  it('is 200 while Postgres, Redis and Kafka all answer', async () => {
    const { status, body } = await readyz();
    expect(status).toBe(200);
    expect(Object.keys(body.dependencies).sort()).toEqual(['kafka', 'postgres', 'redis']);
  });

  it('turns 503 naming Postgres while it is stopped, and 200 once it is back', async () => {
    await postgres.stop();
    let down: ReadyBody | undefined;
    await waitFor('/readyz to report Postgres down', async () => {
      const { status, body } = await readyz();
      down = body;
      return status === 503;
    });
    expect(down?.failed).toEqual(['postgres']);
    expect(down?.dependencies.postgres).toEqual(expect.objectContaining({ ok: false, error: expect.any(String) }));
    expect(down?.dependencies.redis.ok).toBe(true);

    await postgres.start();
    await waitFor('/readyz to recover', async () => (await readyz()).status === 200);
    expect(gateway.output()).not.toMatch(/"level":(50|60).*(uncaught|unhandled)/);
  });
});
