import type { AdminAccountsQuery } from '../../generated/graphql';
import { Fragment, useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../../client';
import { ErrorState, Loading, Panel, TableHead, TableWrap } from '../../components/ui';
import { formatInt } from '../../format';
import { usageWindow } from '../Overview';

type LimitName = 'dailyQuota' | 'burstPerSecond' | 'maxQueryCost' | 'maxDepth';

export type AdminAccount = AdminAccountsQuery['accounts']['nodes'][number];

const LIMIT_LABELS: Record<LimitName, string> = {
  dailyQuota: 'Daily quota (units)',
  burstPerSecond: 'Burst (units/s)',
  maxQueryCost: 'Max query cost',
  maxDepth: 'Max depth',
};
const LIMIT_NAMES = Object.keys(LIMIT_LABELS) as LimitName[];

const ACCOUNTS = /* GraphQL */ `
  query AdminAccounts($after: String) {
    accounts(first: 50, after: $after) {
      nodes {
        id name email planCode createdAt
        limits { dailyQuota burstPerSecond maxQueryCost maxDepth }
        overrides { dailyQuota burstPerSecond maxQueryCost maxDepth }
      }
      pageInfo { endCursor hasNextPage }
    }
    plans { code name }
  }
`;

const SET_PLAN = /* GraphQL */ `
  mutation AdminSetPlan($accountId: ID!, $planCode: PlanCode!) {
    setAccountPlan(accountId: $accountId, planCode: $planCode) { id planCode }
  }
`;

const SET_OVERRIDES = /* GraphQL */ `
  mutation AdminSetOverrides($accountId: ID!, $input: PlanOverridesInput!) {
    setAccountOverrides(accountId: $accountId, input: $input) { id overrides { dailyQuota burstPerSecond maxQueryCost maxDepth } }
  }
`;

interface UsageTotals {
  today: number;
  month: number;
}

/** One document with an aliased accountUsage per account (free of charge, at most 25 aliases). */
function usageQuery(ids: string[]): string {
  const fields = ids.map((_, index) => `u${index}: accountUsage(accountId: $a${index}, from: $from, to: $to, granularity: DAY) { start costUnits }`).join('\n');
  const params = ids.map((_, index) => `$a${index}: ID!`).join(', ');
  return `query AdminAccountUsage($from: DateTime!, $to: DateTime!${params ? `, ${params}` : ''}) { ${fields || '__typename'} }`;
}

export function Accounts() {
  const [after, setAfter] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const accounts = useQuery<AdminAccountsQuery>(ACCOUNTS, { after });
  const nodes = accounts.data?.accounts.nodes ?? [];
  const shown = nodes.filter((a) => `${a.name} ${a.email} ${a.id}`.toLowerCase().includes(filter.trim().toLowerCase()));
  const ids = nodes.slice(0, 25).map((a) => a.id);
  const range = useMemo(() => usageWindow(), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the ids by value (a new array every render)
  const usageVars = useMemo(() => Object.fromEntries([...Object.entries(range), ...ids.map((id, index) => [`a${index}`, id])]), [range, ids.join()]);
  const usage = useQuery<Record<string, { start: string; costUnits: number }[]>>(usageQuery(ids), usageVars, { skip: ids.length === 0, pollMs: 30_000 });
  const totals = new Map<string, UsageTotals>();
  const today = new Date(Date.parse(range.to) - 86_400_000).toISOString().slice(0, 10);
  ids.forEach((id, index) => {
    const buckets = usage.data?.[`u${index}`];
    if (!buckets) return;
    totals.set(id, {
      today: buckets.filter((b) => b.start.slice(0, 10) === today).reduce((sum, b) => sum + b.costUnits, 0),
      month: buckets.reduce((sum, b) => sum + b.costUnits, 0),
    });
  });

  if (!accounts.data) return accounts.error ? <ErrorState error={accounts.error} onRetry={accounts.reload} /> : <Loading what="Loading accounts" />;
  const plans = accounts.data.plans;

  return (
    <Panel
      title="Accounts"
      actions={
        <label className="inline-field">
          <span>Filter</span>
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name, email or id" />
        </label>
      }
    >
      {accounts.error && <ErrorState error={accounts.error} compact />}
      {usage.error && <ErrorState error={usage.error} compact />}
      <TableWrap label="Accounts">
        <table className="table" data-testid="accounts-table">
          <TableHead columns={['Account', 'Plan', 'Daily quota', 'Units today', 'Units, 30 days', 'Overrides']} />
          <tbody>
            {shown.map((account) => (
              <AccountRow key={account.id} account={account} plans={plans} usage={totals.get(account.id)} onChanged={accounts.reload} />
            ))}
          </tbody>
        </table>
      </TableWrap>
      <div className="button-row">
        {after && (
          <button type="button" className="button secondary" onClick={() => setAfter(null)}>
            First page
          </button>
        )}
        {accounts.data.accounts.pageInfo.hasNextPage && (
          <button type="button" className="button secondary" onClick={() => setAfter(accounts.data?.accounts.pageInfo.endCursor ?? null)}>
            Next page
          </button>
        )}
      </div>
    </Panel>
  );
}

function AccountRow({
  account,
  plans,
  usage,
  onChanged,
}: {
  account: AdminAccount;
  plans: { code: string; name: string }[];
  usage?: UsageTotals;
  onChanged(): void;
}) {
  const [planCode, setPlanCode] = useState<string>(account.planCode);
  const [editing, setEditing] = useState(false);
  const setPlan = useMutation<unknown>(SET_PLAN);
  const overridden = LIMIT_NAMES.filter((name) => account.overrides[name] !== null);
  const planSelect = `plan-${account.id}`;

  const changePlan = async (event: FormEvent) => {
    event.preventDefault();
    if (await setPlan.run({ accountId: account.id, planCode })) onChanged();
  };

  return (
    <Fragment>
      <tr data-account-id={account.id} data-account-name={account.name}>
        <th scope="row">
          {account.name}
          <br />
          <span className="muted small">{account.email}</span>
        </th>
        <td>
          <form className="inline-form" onSubmit={changePlan}>
            <label className="visually-hidden" htmlFor={planSelect}>
              Plan of {account.name}
            </label>
            <select id={planSelect} value={planCode} onChange={(e) => setPlanCode(e.target.value)}>
              {plans.map((plan) => (
                <option key={plan.code} value={plan.code}>
                  {plan.name}
                </option>
              ))}
            </select>
            <button
              type="submit"
              className="button secondary"
              disabled={setPlan.busy || planCode === account.planCode}
              aria-label={`Apply plan to ${account.name}`}
            >
              Apply
            </button>
          </form>
          {setPlan.error && <ErrorState error={setPlan.error} compact />}
        </td>
        <td className="num">{formatInt(account.limits.dailyQuota)}</td>
        <td className="num">{usage ? formatInt(usage.today) : '…'}</td>
        <td className="num">{usage ? formatInt(usage.month) : '…'}</td>
        <td>
          <button
            type="button"
            className="button secondary"
            aria-expanded={editing}
            onClick={() => setEditing((e) => !e)}
            aria-label={`Overrides of ${account.name}`}
          >
            {overridden.length ? `${overridden.length} set` : 'none'} · edit
          </button>
        </td>
      </tr>
      {editing && (
        <tr className="subrow">
          <td colSpan={6}>
            <OverridesForm account={account} onSaved={onChanged} />
          </td>
        </tr>
      )}
    </Fragment>
  );
}

function OverridesForm({ account, onSaved }: { account: AdminAccount; onSaved(): void }) {
  const [values, setValues] = useState<Record<LimitName, string>>(
    () =>
      Object.fromEntries(LIMIT_NAMES.map((name) => [name, account.overrides[name] === null ? '' : String(account.overrides[name])])) as Record<
        LimitName,
        string
      >,
  );
  const save = useMutation<unknown>(SET_OVERRIDES);
  const [saved, setSaved] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const input = Object.fromEntries(LIMIT_NAMES.map((name) => [name, values[name].trim() === '' ? null : Number(values[name])]));
    if (await save.run({ accountId: account.id, input })) {
      setSaved(true);
      onSaved();
    }
  };

  return (
    <form onSubmit={submit} className="overrides" aria-label={`Limit overrides of ${account.name}`}>
      <p className="muted small">Leave a limit empty to use the plan’s value. Applies on every gateway within moments.</p>
      <div className="form-grid">
        {LIMIT_NAMES.map((name) => (
          <div className="field" key={name}>
            <label htmlFor={`${account.id}-${name}`}>{LIMIT_LABELS[name]}</label>
            <input
              id={`${account.id}-${name}`}
              type="number"
              min={0}
              step={1}
              inputMode="numeric"
              value={values[name]}
              placeholder={`now ${formatInt(account.limits[name])}`}
              onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
            />
          </div>
        ))}
      </div>
      <button type="submit" className="button" disabled={save.busy}>
        Save overrides
      </button>
      {saved && (
        <span role="status" className="muted">
          {' '}
          Saved.
        </span>
      )}
      {save.error && <ErrorState error={save.error} compact />}
    </form>
  );
}
