import type { Redis } from 'ioredis';
import { TollgraphError } from '../../errors';
import type { Logger } from '../../ops/logger';
import type { PubSub } from '../../pubsub/pubsub';
import { liveFeed } from '../../pubsub/live-feed';
import { getMany } from '../../redis/get-many';
import type { OperatorView } from '../pipeline/keyed';
import { decodeVersioned, viewKey } from '../pipeline/operator-sinks';
import type { MerchantRiskView } from './merchant-risk';
import { PRODUCT_OUTPUTS, type OperatorProduct } from './product-outputs';
import type { SpendFeaturesView } from './spend-features';

/** A live subscriber falling further behind than this loses its oldest updates. */
const MAX_BUFFERED = 1_000;

/**
 * What the gateway reads of the operator products: each key's newest view (Redis, where the
 * operators' sinks keep the highest version) and live updates (the operators' pub/sub channels).
 */
export class OperatorViews {
  private readonly listeners = new Map<OperatorProduct, Set<(view: OperatorView) => void>>();
  private readonly subscriptions = new Map<OperatorProduct, Promise<() => Promise<void>>>();

  constructor(private readonly deps: { redis?: Redis; redisKeyPrefix: string; pubsub: PubSub; logger: Logger }) {}

  spendFeatures(customerIds: string[]): Promise<Array<SpendFeaturesView | null>> {
    return this.latest<SpendFeaturesView>('customer-spend-features', customerIds);
  }

  merchantRisk(merchantIds: string[]): Promise<Array<MerchantRiskView | null>> {
    return this.latest<MerchantRiskView>('merchant-risk', merchantIds);
  }

  /** In the order asked, null for a key without a view yet. */
  private async latest<V extends OperatorView>(product: OperatorProduct, keys: string[]): Promise<Array<V | null>> {
    const { redis, redisKeyPrefix } = this.deps;
    // The operators keep their views in Redis only; the embedded start runs no operator.
    if (!redis) throw new TollgraphError('SERVICE_UNAVAILABLE', `${product} is served from Redis, which this gateway does not have`);
    if (keys.length === 0) return [];
    const namespace = PRODUCT_OUTPUTS[product].namespace;
    let values: Array<string | null>;
    try {
      values = await getMany(
        redis,
        keys.map((key) => viewKey(redisKeyPrefix, namespace, key)),
      );
    } catch (error) {
      this.deps.logger.warn({ err: error, product }, 'redis unavailable for operator views');
      throw new TollgraphError('SERVICE_UNAVAILABLE', `${product} is unavailable for a moment`);
    }
    return values.map((value) => (value ? decodeVersioned<V>(value) : null));
  }

  /** Live views of one product whose key is among `keys` (all when empty), from the moment the channel listens. */
  async updates<V extends OperatorView>(product: OperatorProduct, keys: string[] | null | undefined): Promise<AsyncIterableIterator<V>> {
    const wanted = keys?.length ? new Set(keys) : undefined;
    const listeners = this.listeners.get(product) ?? new Set();
    this.listeners.set(product, listeners);
    const feed = liveFeed<V>(MAX_BUFFERED, () => listeners.delete(listener));
    const listener = (view: OperatorView) => {
      if (!wanted || wanted.has(view.key)) feed.push(view as V);
    };
    // Counted as a subscriber once the channel listens, as riskScoreUpdated's are.
    await this.listen(product, listeners);
    listeners.add(listener);
    return feed.iterator;
  }

  /** Live subscribers of a product in this process. */
  subscribers(product: OperatorProduct): number {
    return this.listeners.get(product)?.size ?? 0;
  }

  async close(): Promise<void> {
    for (const listeners of this.listeners.values()) listeners.clear();
    for (const subscription of this.subscriptions.values()) {
      const unsubscribe = await subscription.catch(() => undefined);
      await unsubscribe?.().catch(() => undefined);
    }
  }

  private listen(product: OperatorProduct, listeners: Set<(view: OperatorView) => void>): Promise<() => Promise<void>> {
    let subscription = this.subscriptions.get(product);
    if (!subscription) {
      subscription = this.deps.pubsub.subscribe(PRODUCT_OUTPUTS[product].channel, (message) => {
        if (listeners.size === 0) return;
        let views: OperatorView[];
        try {
          views = JSON.parse(message) as OperatorView[];
        } catch {
          return;
        }
        for (const view of views) for (const listener of listeners) listener(view);
      });
      this.subscriptions.set(product, subscription);
    }
    return subscription;
  }
}
