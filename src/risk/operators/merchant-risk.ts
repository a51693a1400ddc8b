import { assess, duplicateStatus } from '../model/score';
import { newCustomerState, type Band, type CustomerState, type FactorCode, type Transaction } from '../model/types';
import type { KeyedOperator, OperatorInput, OperatorView } from '../pipeline/keyed';
import type { RawMessage } from '../pipeline/processor';
import { DAY_MS, forWindow, HOUR_MS, newRetained, retain, toCents, type Retained } from './retained';
import { transactionInput, type TransactionSource } from './transactions';

export const MERCHANT_RISK_PRODUCT = 'merchant-risk';

/**
 * What the first stage writes to the repartition topic, keyed by merchant: the transaction as
 * the merchant side needs it, its score under the risk model, and where it was read from
 * (`sp`, `so`: source partition and offset), by which the second stage drops re-sent copies.
 */
export interface ScoredTransaction {
  e: string;
  m: string;
  t: number;
  c: number;
  s: number;
  b: Band;
  f: FactorCode[];
  sp: number;
  so: number;
}

/**
 * Stage 1: scores each transaction with the risk model (its own copy of the customer states, in
 * its own consumer group, so it neither waits for nor depends on the risk scorer) and re-keys it
 * by merchant, as Kafka Streams' repartition topics do.
 */
export function merchantRepartitionOperator(source: TransactionSource): KeyedOperator<CustomerState, Transaction, OperatorView> {
  return {
    product: MERCHANT_RISK_PRODUCT,
    ...transactionInput(source),
    init: newCustomerState,
    apply(state, tx, at, emit) {
      if (duplicateStatus(state, tx.eventId, tx.time) === 'duplicate') return false;
      const { score, band, factors } = assess(state, tx);
      const record: ScoredTransaction = {
        e: tx.eventId,
        m: tx.merchantId,
        t: tx.time,
        c: toCents(tx.amountEur),
        s: score,
        b: band,
        f: factors.map((factor) => factor.code),
        sp: at.partition,
        so: at.offset,
      };
      emit({ key: tx.merchantId, value: JSON.stringify(record) });
      return true;
    },
  };
}

export const MERCHANT_WINDOWS = [
  ['1h', HOUR_MS],
  ['24h', DAY_MS],
] as const;

/** Events kept per merchant (a day of them); past this the windows saturate (the oldest go first). */
export const MERCHANT_MAX_EVENTS = 50_000;

/** Flags of a scored transaction (bits), the proxies docs/products.md defines. */
export const HIGH_RISK = 1;
export const DECLINE = 2;
export const DISPUTE = 4;

/** Factors that say someone other than the card holder may be using the card: what gets disputed. */
const NOT_THE_HOLDER: ReadonlySet<FactorCode> = new Set(['IMPOSSIBLE_TRAVEL', 'CARD_TESTING', 'NEW_DEVICE']);

export function flagsOf(score: number, band: Band, factors: readonly FactorCode[]): number {
  let flags = 0;
  if (band === 'HIGH' || band === 'CRITICAL') flags |= HIGH_RISK;
  if (band === 'CRITICAL') flags |= DECLINE;
  if (score >= 250 && factors.some((code) => NOT_THE_HOLDER.has(code))) flags |= DISPUTE;
  return flags;
}

/** Per retained event: EUR cents and flags; `hw`: per source partition, the highest source offset applied. */
export type MerchantState = Retained<[number, number]> & { hw: Record<string, number> };

export interface MerchantWindow {
  window: (typeof MERCHANT_WINDOWS)[number][0];
  transactions: number;
  volumeEur: number;
  highRisk: number;
  declines: number;
  disputes: number;
  highRiskShare: number;
  declineShare: number;
  disputeShare: number;
}

export interface MerchantRiskView extends OperatorView {
  merchantId: string;
  asOf: string;
  windows: MerchantWindow[];
}

export function merchantRisk(merchantId: string, state: MerchantState): MerchantRiskView {
  const windows = MERCHANT_WINDOWS.map(([window, ms]) => {
    let transactions = 0;
    let cents = 0;
    let highRisk = 0;
    let declines = 0;
    let disputes = 0;
    forWindow(state, ms, ([amount, flags]) => {
      transactions++;
      cents += amount;
      if (flags & HIGH_RISK) highRisk++;
      if (flags & DECLINE) declines++;
      if (flags & DISPUTE) disputes++;
    });
    const share = (n: number) => (transactions ? n / transactions : 0);
    return {
      window,
      transactions,
      volumeEur: cents / 100,
      highRisk,
      declines,
      disputes,
      highRiskShare: share(highRisk),
      declineShare: share(declines),
      disputeShare: share(disputes),
    };
  });
  return { key: merchantId, version: state.n, merchantId, asOf: new Date(state.last).toISOString(), windows };
}

function decodeScored(message: RawMessage): OperatorInput<ScoredTransaction> {
  let record: ScoredTransaction;
  try {
    record = JSON.parse(message.value?.toString('utf8') ?? '') as ScoredTransaction;
  } catch {
    return { ok: false, reason: 'MALFORMED', detail: 'not JSON: a repartition record' };
  }
  const valid =
    record !== null &&
    typeof record === 'object' &&
    typeof record.e === 'string' &&
    typeof record.m === 'string' &&
    Number.isFinite(record.t) &&
    Number.isInteger(record.c) &&
    Number.isInteger(record.s) &&
    ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(record.b) &&
    Array.isArray(record.f) &&
    Number.isInteger(record.sp) &&
    Number.isInteger(record.so);
  if (!valid) return { ok: false, reason: 'SCHEMA_VIOLATION', detail: 'not a scored transaction (repartition record)' };
  const key = message.key === null ? null : message.key.toString();
  if (key !== record.m) return { ok: false, reason: 'KEY_MISMATCH', detail: 'repartition record key is not the merchantId' };
  return { ok: true, key: record.m, event: record };
}

/**
 * Stage 2, on the repartition topic (keyed by merchant): the merchant's fraud-band, decline and
 * dispute shares and volume over sliding windows. A crash of stage 1 between its produce and
 * its checkpoint writes the same records again (same source positions: the model is
 * deterministic); they arrive after the originals, in the same order per source partition, so
 * a record at or below the highest source offset applied for its source partition is a copy.
 */
export function merchantRiskOperator(): KeyedOperator<MerchantState, ScoredTransaction, MerchantRiskView> {
  return {
    product: MERCHANT_RISK_PRODUCT,
    decode: decodeScored,
    init: () => ({ ...newRetained<[number, number]>(), hw: {} }),
    apply(state, record) {
      const source = String(record.sp);
      if (record.so <= (state.hw[source] ?? -1)) return false;
      state.hw[source] = record.so;
      retain(state, record.t, record.e, [record.c, flagsOf(record.s, record.b, record.f)], DAY_MS, MERCHANT_MAX_EVENTS);
      // The source position moved even when the event was old or a copy by id: the state changed, and its checkpoint must say so.
      return true;
    },
    timeOf: (record) => record.t,
    view: merchantRisk,
  };
}
