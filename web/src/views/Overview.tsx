import type { PortalOverviewQuery, PortalSlaQuery } from '../generated/graphql';
import { useMemo } from 'react';
import { useMutation, useQuery } from '../client';
import { QuotaGauge } from '../components/QuotaGauge';
import { UsageChart, type UsageBucket } from '../components/UsageChart';
import { ErrorState, Loading, Panel, StatusBadge } from '../components/ui';
import { formatDateTime, formatInt, formatMoney, formatPercent } from '../format';

export type PlanSummary = PortalOverviewQuery['plans'][number];

// Every field here is free of charge, so the page can refresh itself without spending quota.
const OVERVIEW = /* GraphQL */ `
  query PortalOverview {
    me {
      account { id name email }
      plan { code name monthlyPriceCents currency dailyQuota burstPerSecond sla slaAvailability features }
      limits { dailyQuota burstPerSecond maxQueryCost maxDepth }
      key { name prefix role }
      subscription { status planCode currentPeriodEnd graceEndsAt pastDueSince cancelAtPeriodEnd trialEnd }
    }
    rateLimit { plan limit used remaining resetAt degraded burst { limit remaining resetInMs } }
    plans { code name monthlyPriceCents currency dailyQuota burstPerSecond sla slaAvailability features }
  }
`;

const SLA = /* GraphQL */ `
  query PortalSla($month: String!) {
    slaReport(month: $month) { month requests serverErrors availability operations { operation requests p99Ms } credit { amountCents currency } }
  }
`;

const USAGE = /* GraphQL */ `
  query PortalUsage($from: DateTime!, $to: DateTime!) {
    usage(from: $from, to: $to, granularity: DAY) { start end requests costUnits reportedUnits pendingUnits }
  }
`;

const CHECKOUT = /* GraphQL */ `
  mutation PortalCheckout($planCode: PlanCode!) {
    createCheckoutSession(planCode: $planCode) { url }
  }
`;

const BILLING_PORTAL = /* GraphQL */ `
  mutation PortalBillingPortal {
    createBillingPortalSession { url }
  }
`;

const PLAN_ORDER = ['FREE', 'PROFESSIONAL', 'ENTERPRISE'];

const DAY_MS = 86_400_000;
export const USAGE_DAYS = 30;

export function usageWindow(now = Date.now()): { from: string; to: string } {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return { from: new Date(today - (USAGE_DAYS - 1) * DAY_MS).toISOString(), to: new Date(today + DAY_MS).toISOString() };
}

function subscriptionTone(status: string): 'ok' | 'warn' | 'bad' | 'neutral' {
  if (status === 'active' || status === 'trialing') return 'ok';
  if (status === 'past_due' || status === 'incomplete' || status === 'paused') return 'warn';
  return 'bad';
}

export function Overview({ checkoutResult }: { checkoutResult: string | null }) {
  const overview = useQuery<PortalOverviewQuery>(OVERVIEW, {}, { pollMs: 5000 });
  const range = useMemo(() => usageWindow(), []);
  const usage = useQuery<{ usage: UsageBucket[] }>(USAGE, range, { pollMs: 30_000 });

  if (!overview.data) {
    return overview.error ? <ErrorState error={overview.error} onRetry={overview.reload} /> : <Loading what="Loading your account" />;
  }
  const { me, rateLimit, plans } = overview.data;
  return (
    <div className="grid overview-grid">
      {checkoutResult && (
        <p className={`note ${checkoutResult === 'success' ? 'note-ok' : 'note-warn'} span-all`} role="status">
          {checkoutResult === 'success'
            ? 'Thank you: Stripe has your payment details. The new plan applies as soon as Stripe confirms the subscription (usually within seconds).'
            : 'Checkout was cancelled; nothing changed.'}
        </p>
      )}
      <Panel title="Today’s quota" className="panel-quota">
        {overview.error && <ErrorState error={overview.error} compact />}
        <QuotaGauge status={rateLimit} />
      </Panel>
      <PlanPanel me={me} plans={plans} />
      <ServiceLevelPanel promise={me.plan.slaAvailability} />
      <Panel title={`Usage, last ${USAGE_DAYS} days`} className="span-all">
        {usage.error && <ErrorState error={usage.error} onRetry={usage.reload} compact />}
        {usage.data ? <UsageChart buckets={usage.data.usage} days={USAGE_DAYS} /> : !usage.error && <Loading what="Loading usage" />}
      </Panel>
    </div>
  );
}

/** This month's service level from the gateway's own counts, beside the plan's promise. */
function ServiceLevelPanel({ promise }: { promise: number | null }) {
  const month = useMemo(() => new Date().toISOString().slice(0, 7), []);
  const report = useQuery<PortalSlaQuery>(SLA, { month }, { pollMs: 30_000 });
  const sla = report.data?.slaReport;
  return (
    <Panel title={`Service level, ${month}`} className="span-all">
      {report.error && <ErrorState error={report.error} onRetry={report.reload} compact />}
      {!sla ? (
        !report.error && <Loading what="Loading the service level" />
      ) : (
        <dl className="facts">
          <div>
            <dt>Availability</dt>
            <dd>
              <span data-testid="sla-availability">{formatPercent(sla.availability, 3)}</span>
              {promise !== null && (
                <>
                  {' '}
                  <span className="muted">
                    (promised <span data-testid="sla-promise">{formatPercent(promise, 3)}</span>)
                  </span>{' '}
                  {sla.availability !== null && (
                    <StatusBadge tone={sla.availability >= promise ? 'ok' : 'bad'}>{sla.availability >= promise ? 'kept' : 'below'}</StatusBadge>
                  )}
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>Requests</dt>
            <dd>
              <span data-testid="sla-requests">{formatInt(sla.requests)}</span> answered, {formatInt(sla.serverErrors)} server errors
            </dd>
          </div>
          {sla.operations.slice(0, 5).map((op) => (
            <div key={op.operation}>
              <dt>
                <code>{op.operation}</code>
              </dt>
              <dd>
                p99 {op.p99Ms === null ? 'over 5 s' : `≤ ${formatInt(op.p99Ms)} ms`}{' '}
                <span className="muted">
                  ({formatInt(op.requests)} {op.requests === 1 ? 'request' : 'requests'})
                </span>
              </dd>
            </div>
          ))}
          {sla.credit && (
            <div>
              <dt>Service credit</dt>
              <dd data-testid="sla-credit">{formatMoney(sla.credit.amountCents, sla.credit.currency)} credited to your balance</dd>
            </div>
          )}
        </dl>
      )}
    </Panel>
  );
}

function PlanPanel({ me, plans }: { me: PortalOverviewQuery['me']; plans: PlanSummary[] }) {
  const checkout = useMutation<{ createCheckoutSession: { url: string } }, { planCode: string }>(CHECKOUT);
  const portal = useMutation<{ createBillingPortalSession: { url: string } }>(BILLING_PORTAL);
  const current = me.plan;
  // Plans above the current one (ENTERPRISE is priced per contract, so not by its list price).
  const rank = (code: string) => PLAN_ORDER.indexOf(code);
  const upgrades = plans.filter((plan) => rank(plan.code) > rank(current.code));
  const subscription = me.subscription;

  const startCheckout = async (planCode: string) => {
    const result = await checkout.run({ planCode });
    if (result) window.location.assign(result.createCheckoutSession.url);
  };
  const openPortal = async () => {
    const result = await portal.run({});
    if (result) window.location.assign(result.createBillingPortalSession.url);
  };

  return (
    <Panel title="Plan and billing">
      <p className="plan-name">
        <span data-testid="plan-code">{current.name}</span>{' '}
        <span className="muted">
          {current.code === 'ENTERPRISE'
            ? 'per contract'
            : current.monthlyPriceCents === 0
              ? 'free'
              : `${formatMoney(current.monthlyPriceCents, current.currency)} / month`}
        </span>
      </p>
      <dl className="facts">
        <div>
          <dt>Account</dt>
          <dd>
            {me.account.name} <span className="muted">({me.account.email})</span>
          </dd>
        </div>
        <div>
          <dt>Subscription</dt>
          <dd>
            {subscription ? (
              <>
                <StatusBadge tone={subscriptionTone(subscription.status)}>{subscription.status.replace('_', ' ')}</StatusBadge>
                {subscription.cancelAtPeriodEnd && <> · ends {formatDateTime(subscription.currentPeriodEnd)}</>}
                {!subscription.cancelAtPeriodEnd && subscription.currentPeriodEnd && <> · renews {formatDateTime(subscription.currentPeriodEnd)}</>}
              </>
            ) : (
              <span className="muted">none (plan set by an administrator)</span>
            )}
          </dd>
        </div>
        {subscription?.graceEndsAt && (
          <div>
            <dt>Payment overdue</dt>
            <dd>
              FREE limits apply from <time dateTime={subscription.graceEndsAt}>{formatDateTime(subscription.graceEndsAt)}</time> unless a payment succeeds
            </dd>
          </div>
        )}
        <div>
          <dt>Limits in force</dt>
          <dd>
            {formatInt(me.limits.dailyQuota)} units/day · {formatInt(me.limits.burstPerSecond)} units/s · max cost {formatInt(me.limits.maxQueryCost)} · depth{' '}
            {me.limits.maxDepth}
          </dd>
        </div>
        {current.sla && (
          <div>
            <dt>SLA</dt>
            <dd>{current.sla}</dd>
          </div>
        )}
        <div>
          <dt>Signed in with</dt>
          <dd>
            {me.key.name} <code>{me.key.prefix}…</code> ({me.key.role})
          </dd>
        </div>
      </dl>
      <div className="button-row">
        {upgrades.map((plan) =>
          plan.code === 'ENTERPRISE' ? (
            <a
              key={plan.code}
              className="button secondary"
              href={`mailto:sales@tollgraph.example?subject=${encodeURIComponent(`Enterprise plan for ${me.account.name}`)}`}
            >
              Talk to sales about {plan.name}
            </a>
          ) : (
            <button key={plan.code} type="button" className="button" disabled={checkout.busy} onClick={() => startCheckout(plan.code)}>
              Upgrade to {plan.name} ({formatMoney(plan.monthlyPriceCents, plan.currency)} / month)
            </button>
          ),
        )}
        <button type="button" className="button secondary" disabled={portal.busy} onClick={openPortal}>
          Manage billing
        </button>
      </div>
      {checkout.busy && <Loading what="Opening Stripe Checkout" />}
      {checkout.error && <ErrorState error={checkout.error} compact />}
      {portal.error && <ErrorState error={portal.error} compact />}
    </Panel>
  );
}
