import type { Command } from 'commander';
import { CLI_ACTOR, output, withServices } from '../cli/with-services';
import { runWorkerRole } from '../ops/worker-role';
import { setupStripe } from './setup';
import { startBillingWorker } from './worker';
import { issueSlaCredits, previousMonth } from '../sla/credits';

function date(value: string, name: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new Error(`${name} must be an ISO date or date-time (got ${value})`);
  return parsed;
}

export function registerBillingCommands(program: Command): void {
  program
    .command('stripe')
    .description('Stripe tasks')
    .command('setup')
    .description('create or update the meter, products and prices in Stripe (idempotent) and store their ids')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withServices(async ({ stripe, db, config }) => {
        if (!stripe) throw new Error('STRIPE_SECRET_KEY is not set');
        const result = await setupStripe(stripe, db.prisma, config.STRIPE_METER_EVENT_NAME, CLI_ACTOR);
        output(
          options.json,
          result,
          result.plans.map((plan) => ({
            plan: plan.code,
            product: plan.productId,
            flatPrice: plan.flatPriceId,
            meteredPrice: plan.meteredPriceId,
            meter: result.meterId,
          })),
        );
      }),
    );

  program
    .command('worker')
    .description('background workers')
    .command('billing')
    .description('report usage to Stripe until SIGTERM (alone, or beside gateways: workers share the work)')
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0 = off)', '0')
    .action((options: { metricsPort: string }) =>
      runWorkerRole('billing worker', Number(options.metricsPort), async (services) => {
        const stop = startBillingWorker(services);
        if (!stop) throw new Error('STRIPE_SECRET_KEY is not set');
        // It needs the database (and Stripe); not Kafka.
        return { stop, dependencies: services.readiness, describe: { intervalMs: services.config.BILLING_SYNC_INTERVAL_MS } };
      }),
    );

  const billing = program.command('billing').description('billing tasks');
  billing
    .command('reconcile')
    .description('compare, per account, ledger units with units reported to Stripe and pending ones')
    .requiredOption('--from <time>', 'start (ISO date or date-time, inclusive)')
    .requiredOption('--to <time>', 'end (exclusive)')
    .option('--json', 'print JSON')
    .action((options: { from: string; to: string; json?: boolean }) =>
      withServices(async ({ billing }) => {
        const rows = await billing.reconcile(date(options.from, '--from'), date(options.to, '--to'));
        output(
          options.json,
          rows,
          rows.map((row) => ({
            account: row.accountId,
            ledger: row.ledgerUnits,
            reported: row.reportedUnits,
            pending: row.pendingUnits,
            failed: row.failedUnits,
            tooOld: row.tooOldUnits,
            stripe: row.stripeUnits,
            difference: row.difference,
            windows: row.windows.map((w) => `${w.windowStart.toISOString()} ours ${w.reportedUnits} / Stripe ${w.stripeUnits}`).join('; '),
          })),
        );
        if (rows.some((row) => row.difference !== 0)) process.exitCode = 3;
      }),
    );

  billing
    .command('sla-credits')
    .description(
      'issue the service credits of a finished month: accounts below their plan’s availability promise get its share of the price, once, on their Stripe balance',
    )
    .option('--month <YYYY-MM>', 'the UTC month (default: the previous one)')
    .option('--json', 'print the credits as JSON')
    .action((options: { month?: string; json?: boolean }) =>
      withServices(async (services) => {
        const month = options.month ?? previousMonth();
        const credits = await issueSlaCredits(
          { prisma: services.db.prisma, plans: services.plans, sla: services.sla, logger: services.logger, stripe: services.stripe },
          month,
        );
        output(
          options.json,
          credits,
          credits.map(({ accountId, availability, promised, amountCents, currency, stripeBalanceTransactionId }) => ({
            month,
            accountId,
            availability,
            promised,
            amountCents,
            currency,
            stripe: stripeBalanceTransactionId,
          })),
        );
      }),
    );
}
