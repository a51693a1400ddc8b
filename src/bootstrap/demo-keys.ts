import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Services } from '../services';
import { createSetting, readSetting } from '../settings/store';

export interface DemoKeys {
  adminKey: string;
  subscriberKey: string;
}

const MARKER = 'bootstrap.demo-keys';
const BOOTSTRAP_ACTOR = { type: 'system:bootstrap' } as const;

/**
 * The embedded start's demo accounts and keys, created once. Only hashes are stored, so the
 * secrets live in DATA_DIR/demo-keys.json (mode 0600) for the next start to print again.
 */
export async function ensureDemoKeys({ db, accounts, keys, logger }: Services, dataDir: string): Promise<DemoKeys | undefined> {
  const file = join(dataDir, 'demo-keys.json');
  const created = await readSetting(db.prisma, MARKER);
  if (created !== undefined) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoKeys;
    logger.warn({ file }, 'demo keys were created before but their file is gone; create new keys with `tollgraph keys create`');
    return undefined;
  }
  const admin = await accounts.create({ name: 'Tollgraph Admin', email: 'admin@tollgraph.local', planCode: 'ENTERPRISE' }, BOOTSTRAP_ACTOR);
  const subscriber = await accounts.create({ name: 'Demo Subscriber', email: 'demo@tollgraph.local', planCode: 'PROFESSIONAL' }, BOOTSTRAP_ACTOR);
  const demo: DemoKeys = {
    adminKey: (await keys.create({ accountId: admin.id, name: 'demo admin', role: 'ADMIN' }, BOOTSTRAP_ACTOR)).secret,
    subscriberKey: (await keys.create({ accountId: subscriber.id, name: 'demo subscriber', role: 'SUBSCRIBER' }, BOOTSTRAP_ACTOR)).secret,
  };
  writeFileSync(file, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  await createSetting(db.prisma, MARKER, { accounts: [admin.id, subscriber.id], createdAt: new Date().toISOString() });
  return demo;
}
