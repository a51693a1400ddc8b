import type { Command } from 'commander';
import { output, withServices } from '../cli/with-services';

export function registerPlanCommands(program: Command): void {
  program
    .command('plans')
    .description('the plan catalogue')
    .command('list')
    .description('list plans and their limits')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withServices(async ({ plans }) => {
        const list = await plans.list();
        output(
          options.json,
          list,
          list.map((p) => ({
            code: p.code,
            name: p.name,
            priceCents: p.monthlyPriceCents,
            dailyQuota: p.dailyQuota,
            burstPerSecond: p.burstPerSecond,
            maxQueryCost: p.maxQueryCost,
            grants: p.grants.join(','),
          })),
        );
      }),
    );
}
