import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RiskBand, TransactionChannel } from '../generated/prisma/enums';
import { RequiresGrant } from '../auth/entitlements';
import { Connection } from '../graphql/connection';
import type { IsoTime } from '../graphql/date-time';
import { GRANTS } from '../plans/defaults';
import type { TransactionRiskView } from './service';
import type { RiskScoreView } from './view';

registerEnumType(RiskBand, {
  name: 'RiskBand',
  description: 'Score bands: LOW 0-249, MEDIUM 250-499, HIGH 500-749, CRITICAL 750-1000',
});
registerEnumType(TransactionChannel, { name: 'TransactionChannel', description: 'How the transaction was made' });

@ObjectType({ description: 'One reason behind a score (docs/risk-model.md lists every code)' })
export class RiskFactor {
  @Field({ description: 'e.g. VELOCITY_1M_COUNT, AMOUNT_ANOMALY, NEW_DEVICE, IMPOSSIBLE_TRAVEL, CARD_TESTING' })
  code!: string;

  @Field(() => Int, { description: 'Points this factor adds to the score' })
  contribution!: number;

  @Field({ description: 'What was observed, in words' })
  detail!: string;
}

@ObjectType({ description: "A customer's fraud risk after one of their transactions: 0 (none) to 1000, explained by its factors" })
export class RiskScore {
  @Field(() => ID)
  customerId!: string;

  @Field(() => ID, { description: 'The transaction this score was computed for' })
  eventId!: string;

  @RequiresGrant(GRANTS.riskScore)
  @Field(() => Int, { nullable: true, description: '0-1000 (null only when your plan does not include it; see errors)' })
  score!: number | null;

  @Field(() => RiskBand)
  band!: RiskBand;

  @RequiresGrant(GRANTS.riskFactors)
  @Field(() => [RiskFactor], { nullable: true, description: 'Contributing factors, largest first; they add up to the score unless it was capped at 1000' })
  factors!: RiskFactor[] | null;

  // The ISO strings the score carries, served as they are (see IsoTime).
  @Field(() => Date, { description: 'Event time of the transaction' })
  eventTime!: IsoTime;

  @Field(() => Date, { description: 'When the pipeline computed the score' })
  computedAt!: IsoTime;

  @Field(() => Float, { description: 'Seconds from the transaction’s event time to now: how old the information behind this score is' })
  freshnessSeconds!: number;

  @Field({ description: 'Scoring model that produced it (docs/risk-model.md)' })
  modelVersion!: string;
}

export function toRiskScore(view: RiskScoreView): RiskScore {
  return {
    customerId: view.customerId,
    eventId: view.eventId,
    score: view.score,
    band: view.band,
    factors: view.factors,
    eventTime: view.eventTime,
    computedAt: view.computedAt,
    freshnessSeconds: Math.max(0, (Date.now() - Date.parse(view.eventTime)) / 1000),
    modelVersion: view.modelVersion,
  };
}

@ObjectType({ description: 'A page of a customer’s score history, newest first' })
export class RiskScoreConnection extends Connection(RiskScore) {}

@ObjectType({ description: 'One scored transaction' })
export class TransactionRisk {
  @Field(() => ID)
  eventId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String, { nullable: true })
  merchantId!: string | null;

  @Field(() => String, { nullable: true, description: 'Merchant category code (ISO 18245)' })
  mcc!: string | null;

  @Field(() => String, { nullable: true, description: 'Decimal string, exact' })
  amount!: string | null;

  @Field(() => String, { nullable: true })
  currency!: string | null;

  @Field(() => String, { nullable: true })
  country!: string | null;

  @Field(() => TransactionChannel, { nullable: true })
  channel!: TransactionChannel | null;

  @Field(() => String, { nullable: true })
  deviceId!: string | null;

  @Field()
  eventTime!: Date;

  @Field(() => RiskScore, { description: 'The score this transaction got' })
  risk!: RiskScore;
}

export function toTransactionRisk(view: TransactionRiskView): TransactionRisk {
  return { ...view, eventTime: new Date(view.eventTime), risk: toRiskScore(view.risk) };
}
