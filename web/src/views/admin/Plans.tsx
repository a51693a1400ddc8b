import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../../client';
import { ErrorState, Loading, Panel } from '../../components/ui';
import { formatInt, formatMoney } from '../../format';
import type { AdminPlansQuery } from '../../generated/graphql';

type Plan = AdminPlansQuery['plans'][number];

const PLANS = /* GraphQL */ `
  query AdminPlans {
    plans { code name monthlyPriceCents currency dailyQuota burstPerSecond maxQueryCost maxDepth sla features grants }
  }
`;

const UPDATE = /* GraphQL */ `
  mutation AdminUpdatePlan($code: PlanCode!, $input: UpdatePlanInput!) {
    updatePlan(code: $code, input: $input) { code }
  }
`;

type NumberField = 'monthlyPriceCents' | 'dailyQuota' | 'burstPerSecond' | 'maxQueryCost' | 'maxDepth';
const NUMBER_FIELDS: { name: NumberField; label: string }[] = [
  { name: 'dailyQuota', label: 'Daily quota (units)' },
  { name: 'burstPerSecond', label: 'Burst (units/s)' },
  { name: 'maxQueryCost', label: 'Max query cost' },
  { name: 'maxDepth', label: 'Max depth' },
  { name: 'monthlyPriceCents', label: 'Price (cents / month)' },
];

export function Plans() {
  const plans = useQuery<AdminPlansQuery>(PLANS);
  if (!plans.data) return plans.error ? <ErrorState error={plans.error} onRetry={plans.reload} /> : <Loading what="Loading plans" />;
  return (
    <div className="grid">
      <p className="muted span-all">Every account on a plan gets its new limits on every gateway within moments. Each change is written to the audit log.</p>
      {plans.data.plans.map((plan) => (
        <PlanEditor key={`${plan.code}-${plan.dailyQuota}-${plan.monthlyPriceCents}`} plan={plan} onSaved={plans.reload} />
      ))}
    </div>
  );
}

function PlanEditor({ plan, onSaved }: { plan: Plan; onSaved(): void }) {
  const [form, setForm] = useState(
    () =>
      ({
        name: plan.name,
        sla: plan.sla ?? '',
        features: plan.features.join('\n'),
        grants: plan.grants.join(', '),
        ...Object.fromEntries(NUMBER_FIELDS.map(({ name }) => [name, String(plan[name])])),
      }) as Record<string, string>,
  );
  const update = useMutation<unknown>(UPDATE);
  const [saved, setSaved] = useState(false);
  const id = (field: string) => `plan-${plan.code}-${field}`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const input: Record<string, unknown> = {};
    if (form.name !== plan.name) input.name = form.name;
    if (form.sla !== (plan.sla ?? '')) input.sla = form.sla;
    const features = form.features
      .split('\n')
      .map((f) => f.trim())
      .filter(Boolean);
    if (features.join('\n') !== plan.features.join('\n')) input.features = features;
    const grants = form.grants
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    if (grants.join(',') !== plan.grants.join(',')) input.grants = grants;
    for (const { name } of NUMBER_FIELDS) if (Number(form[name]) !== plan[name]) input[name] = Number(form[name]);
    if (Object.keys(input).length === 0) return;
    if (await update.run({ code: plan.code, input })) {
      setSaved(true);
      onSaved();
    }
  };

  return (
    <Panel
      title={
        <>
          {plan.code}{' '}
          <span className="muted small">
            {plan.code === 'ENTERPRISE' ? 'per contract' : `${formatMoney(plan.monthlyPriceCents, plan.currency)} / month`} · {formatInt(plan.dailyQuota)}{' '}
            units/day
          </span>
        </>
      }
    >
      <form onSubmit={submit} aria-label={`Edit plan ${plan.code}`} data-plan={plan.code}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor={id('name')}>Name</label>
            <input id={id('name')} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
          </div>
          {NUMBER_FIELDS.map(({ name, label }) => (
            <div className="field" key={name}>
              <label htmlFor={id(name)}>{label}</label>
              <input
                id={id(name)}
                type="number"
                min={0}
                step={1}
                inputMode="numeric"
                value={form[name]}
                onChange={(e) => setForm({ ...form, [name]: e.target.value })}
                required
              />
            </div>
          ))}
          <div className="field span-2">
            <label htmlFor={id('sla')}>SLA</label>
            <input id={id('sla')} value={form.sla} onChange={(e) => setForm({ ...form, sla: e.target.value })} />
          </div>
          <div className="field span-2">
            <label htmlFor={id('grants')}>Grants (comma-separated)</label>
            <input id={id('grants')} value={form.grants} onChange={(e) => setForm({ ...form, grants: e.target.value })} />
          </div>
          <div className="field span-2">
            <label htmlFor={id('features')}>Features (one a line)</label>
            <textarea id={id('features')} rows={3} value={form.features} onChange={(e) => setForm({ ...form, features: e.target.value })} />
          </div>
        </div>
        <button type="submit" className="button" disabled={update.busy}>
          Save {plan.code}
        </button>
        {saved && (
          <span role="status" className="muted">
            {' '}
            Saved.
          </span>
        )}
        {update.error && <ErrorState error={update.error} compact />}
      </form>
    </Panel>
  );
}
