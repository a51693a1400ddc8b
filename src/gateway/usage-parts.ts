import type { ProductGrant } from '../catalog/product-access';

/** One ledger record's worth of an operation's usage: the units of one data product (null: fields of none) and the meter they bill on. */
export interface UsagePart {
  product: string | null;
  meter: string | null;
  units: number;
}

/**
 * Splits what an operation actually cost among the data products of its root fields, so the
 * ledger records the product of every charged unit. `costs` are the root fields' own costs;
 * their sum can exceed `actual` only where the actual cost was capped at the requested one, and
 * the excess is then taken off the last parts (the total billed never exceeds what was reserved).
 */
export function usageParts(
  actual: number,
  costs: ReadonlyArray<readonly [field: string, cost: number]>,
  productOfField: ReadonlyMap<string, string>,
  grants: readonly ProductGrant[],
): UsagePart[] {
  const byProduct = new Map<string | null, number>();
  for (const [field, cost] of costs) {
    const product = productOfField.get(field) ?? null;
    byProduct.set(product, (byProduct.get(product) ?? 0) + cost);
  }
  const parts: UsagePart[] = [...byProduct]
    .filter(([, units]) => units > 0)
    .map(([product, units]) => ({ product, units, meter: grants.find((grant) => grant.product === product)?.meter ?? null }));
  let excess = parts.reduce((sum, part) => sum + part.units, 0) - actual;
  for (let i = parts.length - 1; i >= 0 && excess > 0; i--) {
    const cut = Math.min(excess, parts[i].units);
    parts[i].units -= cut;
    excess -= cut;
  }
  return parts.filter((part) => part.units > 0);
}
