import type { DataProductDefinition } from '../../src/catalog/validation';

/** A valid product over `Plan`, a type this API has today. */
export function planProduct(overrides: Partial<DataProductDefinition> = {}): DataProductDefinition {
  return {
    slug: 'plan-offers',
    name: 'Plan offers',
    domain: 'commerce',
    owner: 'billing@tollgraph.local',
    description: 'The plans on offer and their limits.',
    graphqlType: 'Plan',
    eventSchema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
    slo: { freshnessSeconds: 60, availability: 99.5, latencyP99Ms: 50 },
    accessPolicy: {
      plans: ['FREE', 'PROFESSIONAL'],
      fields: [
        { plan: 'FREE', fields: ['code', 'name'] },
        { plan: 'PROFESSIONAL', fields: ['code', 'name', 'dailyQuota'] },
      ],
    },
    version: '1.0.0',
    ...overrides,
  };
}
