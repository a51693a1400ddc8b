import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { MerchantRiskView } from './operators/merchant-risk';
import type { SpendFeaturesView } from './operators/spend-features';

@ObjectType({ description: 'A customer’s spend over one window of event time, ending at their newest event' })
export class SpendWindow {
  @Field({ description: '1m, 1h or 24h' })
  window!: string;

  @Field(() => Int, { description: 'Transactions (each event id once)' })
  count!: number;

  @Field(() => Float, { description: 'Sum in EUR (fixed reference rates, whole cents)' })
  sumEur!: number;

  @Field(() => Float, { description: 'Average in EUR, rounded to the cent' })
  avgEur!: number;

  @Field(() => Int)
  distinctMerchants!: number;
}

@ObjectType({ description: 'Rolling spend features of a customer (data product customer-spend-features)' })
export class CustomerSpendFeatures {
  @Field(() => ID)
  customerId!: string;

  @Field({ description: 'The customer’s newest event time: every window ends there' })
  asOf!: Date;

  @Field(() => [SpendWindow])
  windows!: SpendWindow[];
}

@ObjectType({ description: 'A merchant’s risk over one window of event time, ending at its newest transaction' })
export class MerchantRiskWindow {
  @Field({ description: '1h or 24h' })
  window!: string;

  @Field(() => Int)
  transactions!: number;

  @Field(() => Float, { description: 'Volume in EUR (fixed reference rates, whole cents)' })
  volumeEur!: number;

  @Field(() => Int, { description: 'Transactions the risk model put in HIGH or CRITICAL' })
  highRisk!: number;

  @Field(() => Int, { description: 'Decline proxy: transactions in CRITICAL' })
  declines!: number;

  @Field(() => Int, { description: 'Dispute proxy: MEDIUM or above with impossible travel, card testing or a new device' })
  disputes!: number;

  @Field(() => Float, { description: 'highRisk / transactions (0 when none)' })
  highRiskShare!: number;

  @Field(() => Float)
  declineShare!: number;

  @Field(() => Float)
  disputeShare!: number;
}

@ObjectType({ description: 'Fraud-band, decline and dispute shares and volume of a merchant (data product merchant-risk)' })
export class MerchantRisk {
  @Field(() => ID)
  merchantId!: string;

  @Field({ description: 'The merchant’s newest transaction time: every window ends there' })
  asOf!: Date;

  @Field(() => [MerchantRiskWindow])
  windows!: MerchantRiskWindow[];
}

export const toSpendFeatures = (view: SpendFeaturesView): CustomerSpendFeatures => ({
  customerId: view.customerId,
  asOf: new Date(view.asOf),
  windows: view.windows,
});

export const toMerchantRisk = (view: MerchantRiskView): MerchantRisk => ({ merchantId: view.merchantId, asOf: new Date(view.asOf), windows: view.windows });
