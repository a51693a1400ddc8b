import type { PortalPublicPlansQuery } from '../generated/graphql';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, graphqlRequest } from '../api';
import { ErrorState } from '../components/ui';
import { formatInt, formatMoney } from '../format';
import { KEY_PATTERN } from '../session';

type PublicPlan = PortalPublicPlansQuery['plans'][number];

const WHO = /* GraphQL */ `
  query PortalSignIn {
    me { key { role } account { name } }
  }
`;

const PLANS = /* GraphQL */ `
  query PortalPublicPlans {
    plans { code name monthlyPriceCents currency dailyQuota burstPerSecond sla }
  }
`;

export function SignIn({ onSignedIn, reason }: { onSignedIn(key: string): void; reason: string | null }) {
  const [key, setKey] = useState('');
  const [reveal, setReveal] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [plans, setPlans] = useState<PublicPlan[]>([]);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
    graphqlRequest<{ plans: PublicPlan[] }>(null, PLANS).then(
      (data) => setPlans(data.plans),
      () => undefined,
    );
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = key.trim();
    setError(null);
    if (!KEY_PATTERN.test(candidate)) {
      setError(
        new ApiError({
          status: 0,
          code: 'MALFORMED_KEY',
          message: 'That does not look like a Tollgraph key: keys start with tg_live_ or tg_test_ followed by 32 letters and digits.',
        }),
      );
      return;
    }
    setBusy(true);
    try {
      await graphqlRequest(candidate, WHO);
      onSignedIn(candidate);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError({ status: 0, code: 'ERROR', message: String(caught) }));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <div className="signin-card">
        <h1>
          <span className="logo" aria-hidden="true">
            T
          </span>{' '}
          Tollgraph developer portal
        </h1>
        <p>Real-time card-payment risk over GraphQL. Sign in with an API key to see your usage, quota, keys, billing and the live risk feed.</p>
        {reason && (
          <p className="note note-warn" role="alert">
            {reason}
          </p>
        )}
        <form onSubmit={submit} aria-describedby="key-help">
          <div className="field">
            <label htmlFor="api-key">API key</label>
            <div className="secret-row">
              <input
                id="api-key"
                ref={input}
                className="mono"
                type={reveal ? 'text' : 'password'}
                value={key}
                onChange={(e) => setKey(e.target.value)}
                autoComplete="off"
                spellCheck={false}
                autoCapitalize="off"
                placeholder="tg_live_…"
                required
                aria-invalid={error ? true : undefined}
              />
              <button type="button" className="button secondary" aria-pressed={reveal} onClick={() => setReveal((r) => !r)}>
                {reveal ? 'Hide' : 'Show'}
              </button>
            </div>
            <p id="key-help" className="muted small">
              The key stays in this tab’s session storage and is sent only to this gateway’s /graphql. Running <code>npm start</code> locally? The demo keys are
              printed at start and kept in <code>demo-keys.json</code> in its data directory (<code>DATA_DIR</code>, <code>.data/</code> unless set).
            </p>
          </div>
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </form>
        {error && <ErrorState error={error} />}
      </div>
      {plans.length > 0 && (
        <section className="signin-card" aria-labelledby="plans-heading">
          <h2 id="plans-heading">Plans</h2>
          <ul className="plan-list">
            {plans.map((plan) => (
              <li key={plan.code}>
                <strong>{plan.name}</strong> ·{' '}
                {plan.code === 'ENTERPRISE'
                  ? 'per contract'
                  : plan.monthlyPriceCents === 0
                    ? 'free'
                    : `${formatMoney(plan.monthlyPriceCents, plan.currency)} / month`}{' '}
                · {formatInt(plan.dailyQuota)} units a day · {formatInt(plan.burstPerSecond)}/s{plan.sla ? ` · SLA ${plan.sla}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
