import type { PlanCode } from '../generated/prisma/client';

/**
 * What each plan may read, as capability grants stored with the plan (editable by admins).
 * Resolvers declare which grant a field needs; the plan that first includes it is named in
 * the FORBIDDEN error.
 */
export const GRANTS = {
  riskBand: 'risk.band',
  riskScore: 'risk.score',
  riskFactors: 'risk.factors',
  riskHistory: 'risk.history',
  riskLive: 'risk.live',
  riskBulk: 'risk.bulk',
  riskReplayHistory: 'risk.replay-history',
  catalog: 'catalog.read',
  analytics: 'analytics.read',
} as const;

export type Grant = (typeof GRANTS)[keyof typeof GRANTS];

export interface PlanDefaults {
  code: PlanCode;
  name: string;
  monthlyPriceCents: number;
  dailyQuota: number;
  burstPerSecond: number;
  maxQueryCost: number;
  maxDepth: number;
  reservedConcurrency: number;
  sla: string | null;
  /** The monthly availability promised (0-1); null: no promise. */
  slaAvailability: number | null;
  /** Share of the monthly price credited for a month below the promise, in percent. */
  slaCreditPercent: number;
  features: string[];
  grants: Grant[];
}

const FREE_GRANTS: Grant[] = [GRANTS.riskBand, GRANTS.catalog];
const PROFESSIONAL_GRANTS: Grant[] = [...FREE_GRANTS, GRANTS.riskScore, GRANTS.riskFactors, GRANTS.riskHistory, GRANTS.riskLive, GRANTS.analytics];

/** The plans a new installation starts with (README.md documents the same numbers). */
export const DEFAULT_PLANS: readonly PlanDefaults[] = [
  {
    code: 'FREE',
    name: 'Free',
    monthlyPriceCents: 0,
    dailyQuota: 1_000,
    burstPerSecond: 10,
    maxQueryCost: 10,
    maxDepth: 8,
    reservedConcurrency: 0,
    sla: null,
    slaAvailability: null,
    slaCreditPercent: 0,
    features: ['Risk band per customer', 'Data-product catalog', '1,000 cost units per day'],
    grants: FREE_GRANTS,
  },
  {
    code: 'PROFESSIONAL',
    name: 'Professional',
    monthlyPriceCents: 250_000,
    dailyQuota: 1_000_000,
    burstPerSecond: 500,
    maxQueryCost: 500,
    maxDepth: 12,
    reservedConcurrency: 0,
    sla: '99.9% monthly availability; riskScore p99 under 150 ms; support answers within 4 business hours',
    slaAvailability: 0.999,
    slaCreditPercent: 10,
    features: [
      'Numeric scores and explaining factors',
      'Score history',
      'Live score subscriptions',
      'Fraud-rate and score-band analytics',
      '1,000,000 cost units per day',
    ],
    grants: PROFESSIONAL_GRANTS,
  },
  {
    code: 'ENTERPRISE',
    name: 'Enterprise',
    monthlyPriceCents: 0,
    dailyQuota: 50_000_000,
    burstPerSecond: 5_000,
    maxQueryCost: 5_000,
    maxDepth: 16,
    reservedConcurrency: 0,
    sla: '99.95% monthly availability; dedicated capacity; named support engineer, 1-hour response',
    slaAvailability: 0.9995,
    slaCreditPercent: 25,
    features: ['Everything in Professional', 'Bulk queries', 'Replay-scale history', 'Custom limits per contract'],
    grants: [...PROFESSIONAL_GRANTS, GRANTS.riskBulk, GRANTS.riskReplayHistory],
  },
];
