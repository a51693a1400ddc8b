import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGatewaySchema, printGatewaySchema } from '../../src/gateway/schema';

describe('schema.graphql', () => {
  it('is the schema the code builds (regenerate with `npm run schema:print`)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(printGatewaySchema(await buildGatewaySchema()));
  });
});
