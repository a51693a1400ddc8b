import type { Command } from 'commander';
import { CLI_ACTOR, output, withServices } from '../cli/with-services';
import { PlanCode } from '../generated/prisma/enums';

export function registerAccountCommands(program: Command): void {
  const accounts = program.command('accounts').description('customer accounts');
  accounts
    .command('create')
    .description('create an account')
    .requiredOption('--name <name>', 'account name')
    .requiredOption('--email <email>', 'contact email (unique)')
    .option('--plan <code>', `plan: ${Object.values(PlanCode).join(', ')}`, 'FREE')
    .option('--json', 'print JSON')
    .action((options: { name: string; email: string; plan: string; json?: boolean }) =>
      withServices(async ({ accounts }) => {
        const planCode = options.plan.toUpperCase();
        if (!(planCode in PlanCode)) throw new Error(`--plan must be one of ${Object.values(PlanCode).join(', ')} (got ${options.plan})`);
        const account = await accounts.create({ name: options.name, email: options.email, planCode: planCode as PlanCode }, CLI_ACTOR);
        output(options.json, account, [{ id: account.id, name: account.name, email: account.email, plan: account.planCode }]);
      }),
    );
  accounts
    .command('list')
    .description('list accounts')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withServices(async ({ accounts }) => {
        const { accounts: rows } = await accounts.list({ first: 10_000 });
        output(
          options.json,
          rows,
          rows.map((a) => ({ id: a.id, name: a.name, email: a.email, plan: a.planCode })),
        );
      }),
    );
}
