import { randomUUID } from 'node:crypto';
import type { UsageEntry } from '../../src/metering/ledger';
import type { TestGateway } from './harness';

/**
 * Records billable calls of an account in the gateway's usage ledger, one per cost, the i-th at
 * `at(i)`, as a PROFESSIONAL request would be recorded (of `product`, on `meter`, when given);
 * returns their units in all.
 */
export async function recordUsage(
  gateway: TestGateway,
  who: { accountId: string; keyId: string },
  costs: number[],
  at: (i: number) => Date,
  of: Pick<UsageEntry, 'product' | 'meter'> = {},
): Promise<number> {
  await Promise.all(
    costs.map((costUnits, i) =>
      gateway.services.ledger.record({
        requestId: randomUUID(),
        accountId: who.accountId,
        apiKeyId: who.keyId,
        planCode: 'PROFESSIONAL',
        operation: 'q',
        costUnits,
        occurredAt: at(i),
        ...of,
      }),
    ),
  );
  return costs.reduce((sum, cost) => sum + cost, 0);
}
