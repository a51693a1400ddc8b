import type { AccountAccess } from '../accounts/service';
import type { PrismaClient, QuotaAlert } from '../generated/prisma/client';
import type { Logger } from '../ops/logger';
import type { PubSub } from '../pubsub/pubsub';

export const QUOTA_ALERT_THRESHOLDS = [80, 100] as const;
export const QUOTA_ALERT_CHANNEL = 'quota-alerts';

export interface QuotaAlertEvent {
  accountId: string;
  day: string;
  threshold: number;
  usedUnits: number;
  quota: number;
}

/**
 * Records crossing 80 % and 100 % of the daily quota once per account, day and threshold (a
 * unique index makes concurrent crossings one row), and announces each new one on pub/sub for
 * notification hooks. Costs nothing unless a threshold is crossed.
 */
export class QuotaAlerts {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pubsub: PubSub,
    private readonly logger: Logger,
  ) {}

  async observe({ account, limits }: AccountAccess, day: string, before: number, after: number): Promise<void> {
    for (const threshold of QUOTA_ALERT_THRESHOLDS) {
      const mark = Math.ceil((limits.dailyQuota * threshold) / 100);
      if (before >= mark || after < mark) continue;
      const event: QuotaAlertEvent = { accountId: account.id, day, threshold, usedUnits: after, quota: limits.dailyQuota };
      try {
        const { count } = await this.prisma.quotaAlert.createMany({
          data: [{ accountId: account.id, day: new Date(`${day}T00:00:00Z`), threshold, usedUnits: after, quota: limits.dailyQuota }],
          skipDuplicates: true,
        });
        if (count === 0) continue;
        this.logger.info(event, 'daily quota threshold crossed');
        await this.pubsub.publish(QUOTA_ALERT_CHANNEL, JSON.stringify(event));
      } catch (error) {
        this.logger.warn({ err: error, ...event }, 'could not record a quota alert');
      }
    }
  }

  /** The alerts of a UTC day (YYYY-MM-DD), newest first. */
  list(day: string): Promise<QuotaAlert[]> {
    return this.prisma.quotaAlert.findMany({ where: { day: new Date(`${day}T00:00:00Z`) }, orderBy: { createdAt: 'desc' } });
  }

  /** Subscribes a notification hook (e-mail, Slack, webhook…) to new alerts from every process. */
  onAlert(handler: (event: QuotaAlertEvent) => void): Promise<() => Promise<void>> {
    return this.pubsub.subscribe(QUOTA_ALERT_CHANNEL, (message) => handler(JSON.parse(message) as QuotaAlertEvent));
  }
}
