import { parse } from 'graphql';
import { checkDocumentShape, DOCUMENT_LIMITS, PARSE_OPTIONS } from '../../src/cost/shape';

const refusal = (query: string) => {
  try {
    checkDocumentShape(parse(query));
  } catch (error) {
    return (error as { extensions: Record<string, unknown> }).extensions;
  }
  return undefined;
};

/** A fragment chain where each level spreads the next twice: 2^levels fields once expanded. */
function fragmentBomb(levels: number): string {
  const fragments = Array.from({ length: levels }, (_, i) =>
    i + 1 < levels ? `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }` : `fragment F${i} on Query { health { status } }`,
  );
  return `query { ...F0 } ${fragments.join(' ')}`;
}

describe("a document's shape, bounded before validation", () => {
  it('lets ordinary documents through, introspection included', () => {
    expect(refusal('{ health { status } plans { code name } }')).toBeUndefined();
    expect(
      refusal(
        'query($id: ID!) { a: riskScore(customerId: $id) { ...S } b: riskScore(customerId: $id) { ...S } } fragment S on RiskScore { band score factors { code } }',
      ),
    ).toBeUndefined();
    // GraphiQL's own introspection query (what the portal's explorer sends).
    const { getIntrospectionQuery } = jest.requireActual<typeof import('graphql')>('graphql');
    expect(refusal(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }))).toBeUndefined();
  });

  it('refuses a fragment bomb in time linear in its text, however far it would expand', () => {
    expect(refusal(fragmentBomb(23))).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'maxSameKey' });
    const began = performance.now();
    expect(refusal(fragmentBomb(1000))).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    // 2^1000 fields if expanded: measuring each fragment once is what makes this finish at all.
    expect(performance.now() - began).toBeLessThan(2000);
  });

  it('counts fields, aliases and depth through fragments, introspection included', () => {
    const wide = Array.from({ length: 6 }, (_, i) => `a${i}: health { status }`).join(' ');
    expect(
      refusal(
        `{ ...A ...B ...C } fragment A on Query { ${wide} } fragment B on Query { ${wide.replaceAll('a', 'b')} } fragment C on Query { ${wide.replaceAll('a', 'c')} }`,
      ),
    ).toBeUndefined();
    const aliases = Array.from({ length: 20 }, (_, i) => `t${i}: types { ${Array.from({ length: 20 }, (_, j) => `f${j}: name`).join(' ')} }`).join(' ');
    expect(refusal(`{ __schema { ${aliases} } }`)).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'maxAliases' });
    const nested = (depth: number): string => (depth <= 1 ? 'name' : `fields { type { ${nested(depth - 2)} } }`);
    expect(refusal(`{ __schema { types { ${nested(DOCUMENT_LIMITS.maxDepth)} } } }`)).toMatchObject({ limit: 'maxDepth' });
    const many = Array.from({ length: 26 }, (_, i) => `x${i}: types { name kind description }`).join(' ');
    expect(
      refusal(
        `{ __schema { ${many} } } query Q { __schema { ${many.replaceAll('x', 'y')} } } query R { __schema { ${many.replaceAll('x', 'z')} } } query S { __schema { ${many.replaceAll('x', 'w')} } } query T { __schema { ${many.replaceAll('x', 'v')} } }`,
      ),
    ).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
  });

  it('refuses one field named more often than validation can afford to compare', () => {
    expect(refusal(`{ ${'health { status } '.repeat(DOCUMENT_LIMITS.maxSameKey)} }`)).toBeUndefined();
    expect(refusal(`{ ${'health { status } '.repeat(DOCUMENT_LIMITS.maxSameKey + 1)} }`)).toMatchObject({
      limit: 'maxSameKey',
      maximum: DOCUMENT_LIMITS.maxSameKey,
    });
  });

  it('stops the parser at the token limit, so a long document costs little', () => {
    const tenThousand = `{ ${'health '.repeat(10_000)} }`;
    expect(() => parse(tenThousand, PARSE_OPTIONS)).toThrow(/2000 tokens/);
  });
});
