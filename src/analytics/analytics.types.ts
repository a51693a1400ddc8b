import { Field, Float, ID, Int, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import { RiskBand } from '../generated/prisma/enums';

export enum FraudRateGrouping {
  HOUR = 'hour',
  DAY = 'day',
  MCC = 'mcc',
  COUNTRY = 'country',
  CHANNEL = 'channel',
}
registerEnumType(FraudRateGrouping, {
  name: 'FraudRateGrouping',
  description: 'What fraud rates are grouped by: one period (HOUR or DAY) and any of the transaction’s dimensions',
});

/** Rows of an analytics answer, at most `first`, and whether more matched. */
function AnalyticsRows<T extends object>(row: ClassType<T>) {
  @ObjectType()
  abstract class Rows {
    @Field(() => [row])
    rows!: T[];

    @Field({ description: 'More rows matched than `first`: narrow the window or ask for more' })
    truncated!: boolean;
  }
  return Rows;
}

@ObjectType({ description: 'Transactions of one group (null: not grouped by that column) and the share the model put in HIGH or CRITICAL' })
export class FraudRate {
  @Field(() => Date, { nullable: true, description: 'Start of the UTC hour (grouped by HOUR)' })
  hour!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Start of the UTC day (grouped by DAY)' })
  day!: Date | null;

  @Field(() => String, { nullable: true })
  mcc!: string | null;

  @Field(() => String, { nullable: true })
  country!: string | null;

  @Field(() => String, { nullable: true })
  channel!: string | null;

  @Field(() => Int, { description: 'Transactions scored (each event once)' })
  transactions!: number;

  @Field(() => Int, { description: 'Of those, scored HIGH or CRITICAL' })
  highRisk!: number;

  @Field(() => Float, { description: 'highRisk / transactions, to 4 places' })
  highRiskShare!: number;

  @Field(() => Float, { description: 'Sum of the amounts in EUR, to 2 places' })
  amountEur!: number;
}

@ObjectType({ description: 'Fraud rates over a window of event times, from the archive' })
export class FraudRates extends AnalyticsRows(FraudRate) {}

@ObjectType({ description: 'Scores of one UTC hour in one band' })
export class ScoreBand {
  @Field({ description: 'Start of the UTC hour' })
  hour!: Date;

  @Field(() => RiskBand)
  band!: RiskBand;

  @Field(() => Int)
  scores!: number;
}

@ObjectType({ description: 'Scores by hour and band over a window of event times, from the archive' })
export class ScoreBands extends AnalyticsRows(ScoreBand) {}

@ObjectType({ description: 'One account’s usage of one operation' })
export class OperationUsage {
  @Field(() => ID)
  accountId!: string;

  @Field({ description: 'Root field (or live event) billed' })
  operation!: string;

  @Field(() => Int, { description: 'Requests (and live events) recorded' })
  requests!: number;

  @Field(() => Int)
  costUnits!: number;
}

@ObjectType({ description: 'Usage by account and operation over a window, from the archived usage ledger' })
export class UsageByAccount extends AnalyticsRows(OperationUsage) {}
