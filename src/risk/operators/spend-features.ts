import type { Transaction } from '../model/types';
import type { KeyedOperator, OperatorView } from '../pipeline/keyed';
import { DAY_MS, forWindow, HOUR_MS, MINUTE_MS, newRetained, retain, toCents, type Retained } from './retained';
import { transactionInput, type TransactionSource } from './transactions';

export const SPEND_FEATURES_PRODUCT = 'customer-spend-features';

export const SPEND_WINDOWS = [
  ['1m', MINUTE_MS],
  ['1h', HOUR_MS],
  ['24h', DAY_MS],
] as const;

/** Events kept per customer (a day of them); past this the windows saturate (the oldest go first). */
export const SPEND_MAX_EVENTS = 20_000;

/** Per retained event: EUR cents and the merchant. */
export type SpendState = Retained<[number, string]>;

export interface SpendWindow {
  window: (typeof SPEND_WINDOWS)[number][0];
  count: number;
  sumEur: number;
  avgEur: number;
  distinctMerchants: number;
}

/** A customer's rolling spend as of their newest event (docs/products.md). */
export interface SpendFeaturesView extends OperatorView {
  customerId: string;
  asOf: string;
  windows: SpendWindow[];
}

export function spendFeatures(customerId: string, state: SpendState): SpendFeaturesView {
  const windows = SPEND_WINDOWS.map(([window, ms]) => {
    let count = 0;
    let cents = 0;
    const merchants = new Set<string>();
    forWindow(state, ms, ([amount, merchant]) => {
      count++;
      cents += amount;
      merchants.add(merchant);
    });
    return { window, count, sumEur: cents / 100, avgEur: count ? Math.round(cents / count) / 100 : 0, distinctMerchants: merchants.size };
  });
  return { key: customerId, version: state.n, customerId, asOf: new Date(state.last).toISOString(), windows };
}

/** Rolling per-customer spend over 1 min, 1 h and 24 h of event time, straight off `transactions` (keyed by customer already). */
export function spendFeaturesOperator(source: TransactionSource): KeyedOperator<SpendState, Transaction, SpendFeaturesView> {
  return {
    product: SPEND_FEATURES_PRODUCT,
    ...transactionInput(source),
    init: () => newRetained(),
    apply: (state, tx) => retain(state, tx.time, tx.eventId, [toCents(tx.amountEur), tx.merchantId], DAY_MS, SPEND_MAX_EVENTS),
    timeOf: (tx) => tx.time,
    view: spendFeatures,
  };
}
