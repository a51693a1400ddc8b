import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { RequiresGrant } from '../auth/entitlements';
import { Cost } from '../cost/hints';
import type { GatewayContext } from '../gateway/context';
import { GRANTS } from '../plans/defaults';
import { FraudRateGrouping, FraudRates, ScoreBands, UsageByAccount } from './analytics.types';
import { MAX_ANALYTICS_ROWS } from './request';

/** What a question costs besides its rows: the scan of the archive behind it. */
const QUESTION_WEIGHT = 5;
const cost = () => Cost({ weight: QUESTION_WEIGHT, slicingArguments: ['first'], sizedFields: ['rows'] });
const WINDOW = `\`from\` inclusive, \`to\` exclusive (event time), at most ANALYTICS_MAX_RANGE_DAYS apart`;
const first = () => Arg('first', () => Int, { defaultValue: 100, description: `Rows at most (1-${MAX_ANALYTICS_ROWS})` });
const date = (value: unknown) => (typeof value === 'string' ? new Date(value) : null);

/** Questions over the archive, answered by the analytics worker (ANALYTICS_URL). */
@Resolver()
export class AnalyticsResolver {
  @RequiresGrant(GRANTS.analytics)
  @cost()
  @Query(() => FraudRates, { nullable: true, description: `Transactions and the share scored HIGH or CRITICAL, by the groups asked; ${WINDOW}` })
  async fraudRates(
    @Ctx() { services }: GatewayContext,
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Arg('groupBy', () => [FraudRateGrouping], { defaultValue: [FraudRateGrouping.HOUR, FraudRateGrouping.MCC, FraudRateGrouping.COUNTRY] })
    groupBy: FraudRateGrouping[],
    @first() limit: number,
  ): Promise<FraudRates> {
    const { rows, truncated } = await services.analytics.ask({ question: 'fraud-rates', from: from.getTime(), to: to.getTime(), groupBy, limit });
    return {
      truncated,
      rows: rows.map((row) => ({
        hour: date(row.hour),
        day: date(row.day),
        mcc: (row.mcc as string | undefined) ?? null,
        country: (row.country as string | undefined) ?? null,
        channel: (row.channel as string | undefined) ?? null,
        transactions: row.transactions as number,
        highRisk: row.high_risk as number,
        highRiskShare: row.high_risk_share as number,
        amountEur: row.amount_eur as number,
      })),
    };
  }

  @RequiresGrant(GRANTS.analytics)
  @cost()
  @Query(() => ScoreBands, { nullable: true, description: `Scores by hour and band; ${WINDOW}` })
  async scoreBands(@Ctx() { services }: GatewayContext, @Arg('from') from: Date, @Arg('to') to: Date, @first() limit: number): Promise<ScoreBands> {
    const { rows, truncated } = await services.analytics.ask({ question: 'scores-by-band', from: from.getTime(), to: to.getTime(), limit });
    return {
      truncated,
      rows: rows.map((row) => ({ hour: new Date(row.hour as string), band: row.band as ScoreBands['rows'][number]['band'], scores: row.scores as number })),
    };
  }

  @AdminOnly()
  @cost()
  @Query(() => UsageByAccount, { nullable: true, description: `Requests and cost units by account and operation, from the archived ledger; ${WINDOW}. ADMIN.` })
  async usageByAccount(@Ctx() { services }: GatewayContext, @Arg('from') from: Date, @Arg('to') to: Date, @first() limit: number): Promise<UsageByAccount> {
    const { rows, truncated } = await services.analytics.ask({ question: 'usage-by-account', from: from.getTime(), to: to.getTime(), limit });
    return {
      truncated,
      rows: rows.map((row) => ({
        accountId: row.account_id as string,
        operation: row.operation as string,
        requests: row.requests as number,
        costUnits: row.cost_units as number,
      })),
    };
  }
}
