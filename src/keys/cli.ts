import type { Command } from 'commander';
import { CLI_ACTOR, output, withServices } from '../cli/with-services';
import { ApiKeyRole } from '../generated/prisma/enums';
import type { PublicApiKey } from './service';

const row = (key: PublicApiKey) => ({
  id: key.id,
  prefix: key.prefix,
  name: key.name,
  role: key.role,
  domains: key.domains.join(','),
  expires: key.expiresAt,
  revoked: key.revokedAt,
  lastUsed: key.lastUsedAt,
});

const roles = Object.keys(ApiKeyRole);
const ROLES = `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}`;

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('create a key; its secret is printed once')
    .requiredOption('--account <id>', 'account id')
    .option('--name <name>', 'a name to recognise the key by', 'default')
    .option('--role <role>', ROLES, 'SUBSCRIBER')
    .option('--domains <list>', 'PUBLISHER keys: the domains it publishes, comma-separated (e.g. risk,payments)')
    .option('--expires <time>', 'expiry as an ISO date-time')
    .option('--json', 'print JSON')
    .action((options: { account: string; name: string; role: string; domains?: string; expires?: string; json?: boolean }) =>
      withServices(async ({ keys, accounts }) => {
        const role = options.role.toUpperCase();
        if (!(role in ApiKeyRole)) throw new Error(`--role must be ${ROLES} (got ${options.role})`);
        const domains = options.domains?.split(',').map((domain) => domain.trim());
        const expiresAt = options.expires ? new Date(options.expires) : null;
        if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new Error(`--expires must be an ISO date-time (got ${options.expires})`);
        if (!(await accounts.find(options.account))) throw new Error(`no account with id ${options.account}`);
        const { secret, key } = await keys.create({ accountId: options.account, name: options.name, role: role as ApiKeyRole, domains, expiresAt }, CLI_ACTOR);
        if (options.json) output(true, { key: secret, apiKey: key }, []);
        else process.stdout.write(`${secret}\n(store it now: it cannot be shown again; id ${key.id})\n`);
      }),
    );
  keys
    .command('revoke <id>')
    .description('revoke a key on every gateway')
    .option('--json', 'print JSON')
    .action((id: string, options: { json?: boolean }) =>
      withServices(async ({ keys }) => {
        if (!(await keys.find(id))) throw new Error(`no API key with id ${id}`);
        const key = await keys.revoke(id, CLI_ACTOR);
        output(options.json, key, [row(key)]);
      }),
    );
  keys
    .command('list')
    .description("list an account's keys")
    .requiredOption('--account <id>', 'account id')
    .option('--json', 'print JSON')
    .action((options: { account: string; json?: boolean }) =>
      withServices(async ({ keys, accounts }) => {
        if (!(await accounts.find(options.account))) throw new Error(`no account with id ${options.account}`);
        const list = await keys.list(options.account);
        output(options.json, list, list.map(row));
      }),
    );
}
