import { MERCHANT_RISK_PRODUCT } from './merchant-risk';
import { SPEND_FEATURES_PRODUCT } from './spend-features';

/** The data products computed by operators other than the risk scorer, each run by `tollgraph risk consume --operator <product>`. */
export const OPERATOR_PRODUCTS = [SPEND_FEATURES_PRODUCT, MERCHANT_RISK_PRODUCT] as const;
export type OperatorProduct = (typeof OPERATOR_PRODUCTS)[number];

/** Where each product's views live in Redis and which pub/sub channel announces them: the operators write there, the gateway reads. */
export const PRODUCT_OUTPUTS: Record<OperatorProduct, { namespace: string; channel: string }> = {
  [SPEND_FEATURES_PRODUCT]: { namespace: 'features:spend', channel: 'features:spend' },
  [MERCHANT_RISK_PRODUCT]: { namespace: 'merchant:risk', channel: 'merchant:risk' },
};
