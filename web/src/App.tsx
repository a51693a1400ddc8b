import type { PortalWhoQuery } from './generated/graphql';
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ApiError, ApiEvents, CostExtension } from './api';
import { ApiProvider, useApi, useQuery } from './client';
import { ErrorState, Loading, useNow } from './components/ui';
import { formatInt } from './format';
import { forgetKey, storeKey, storedKey } from './session';
import { Catalog } from './views/Catalog';
import { Keys } from './views/Keys';
import { LiveRisk } from './views/LiveRisk';
import { Overview } from './views/Overview';
import { SignIn } from './views/SignIn';
import { Accounts } from './views/admin/Accounts';
import { Audit } from './views/admin/Audit';
import { Billing } from './views/admin/Billing';
import { Plans } from './views/admin/Plans';
import { Products } from './views/admin/Products';
import { Revenue } from './views/admin/Revenue';

// GraphiQL and its editor are most of the portal's bytes: load them only when the explorer opens.
const Explorer = lazy(() => import('./views/Explorer'));

type KeyRole = PortalWhoQuery['me']['key']['role'];

interface Route {
  path: string;
  label: string;
  title: string;
  /** The key roles the view is for (the gateway decides what each may read); none: every key. */
  roles?: KeyRole[];
}

const ADMIN: KeyRole[] = ['ADMIN'];
/** A publisher publishes and watches the products of its domains; an admin, all of them. */
const PUBLISHING: KeyRole[] = ['ADMIN', 'PUBLISHER'];

const ROUTES: Route[] = [
  { path: '/', label: 'Overview', title: 'Overview' },
  { path: '/keys', label: 'Keys', title: 'API keys' },
  { path: '/catalog', label: 'Catalog', title: 'Data-product catalog' },
  { path: '/live', label: 'Live risk', title: 'Live risk feed' },
  { path: '/explorer', label: 'Explorer', title: 'GraphQL explorer' },
  { path: '/admin/accounts', label: 'Accounts', title: 'Accounts', roles: ADMIN },
  { path: '/admin/plans', label: 'Plans', title: 'Plan editor', roles: ADMIN },
  { path: '/admin/products', label: 'Data products', title: 'Data-product publishing', roles: PUBLISHING },
  { path: '/admin/revenue', label: 'Revenue', title: 'Revenue per data product', roles: PUBLISHING },
  { path: '/admin/audit', label: 'Audit log', title: 'Audit log', roles: ADMIN },
  { path: '/admin/billing', label: 'Billing', title: 'Billing and reconciliation', roles: ADMIN },
];

function currentPath(): string {
  const path = window.location.hash.replace(/^#/, '') || '/';
  return ROUTES.some((route) => route.path === path) ? path : '/';
}

function useHashRoute(): Route {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onChange = () => setPath(currentPath());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return ROUTES.find((route) => route.path === path) ?? ROUTES[0];
}

/** `?checkout=success|cancelled`, where Stripe Checkout sends the subscriber back; read once. */
function takeCheckoutResult(): string | null {
  const params = new URLSearchParams(window.location.search);
  const result = params.get('checkout');
  if (result) window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash}`);
  return result;
}

/** The explorer without a key (a browser opening /graphql lands here): public fields, a way to sign in. */
function PublicExplorer() {
  useEffect(() => {
    document.title = 'GraphQL explorer · Tollgraph portal';
  }, []);
  return (
    <div className="public-explorer">
      <p className="notice" role="status">
        Not signed in: the explorer runs public fields only (<code>health</code>, <code>plans</code>). <a href="#/">Sign in with an API key</a> to query scores,
        history and usage.
      </p>
      <Suspense fallback={<Loading what="Loading GraphiQL" />}>
        <Explorer apiKey={null} />
      </Suspense>
    </div>
  );
}

export function App() {
  const route = useHashRoute();
  const [key, setKey] = useState<string | null>(storedKey);
  const [reason, setReason] = useState<string | null>(null);
  const [checkoutResult] = useState(takeCheckoutResult);

  const signOut = useCallback((why: string | null) => {
    forgetKey();
    setKey(null);
    setReason(why);
  }, []);

  if (!key && route.path === '/explorer') return <PublicExplorer />;
  if (!key) {
    return (
      <SignIn
        reason={reason}
        onSignedIn={(signedIn) => {
          storeKey(signedIn);
          setReason(null);
          setKey(signedIn);
        }}
      />
    );
  }
  return <SignedIn key={key} apiKey={key} onSignOut={signOut} checkoutResult={checkoutResult} />;
}

interface Limited {
  error: ApiError;
  at: number;
}

function SignedIn({ apiKey, onSignOut, checkoutResult }: { apiKey: string; onSignOut(reason: string | null): void; checkoutResult: string | null }) {
  const [quota, setQuota] = useState<CostExtension['quota']>();
  const [limited, setLimited] = useState<Limited | null>(null);
  const events = useMemo<ApiEvents>(
    () => ({
      onCost: (cost) => {
        setQuota(cost.quota);
        // A response that says quota is left ends a QUOTA_EXCEEDED banner (e.g. after an upgrade).
        if (cost.quota && cost.quota.remaining > 0) setLimited((current) => (current?.error.code === 'QUOTA_EXCEEDED' ? null : current));
      },
      onError: (error) => {
        if (error.status === 401)
          onSignOut(`Signed out: the gateway no longer accepts this key (401 ${error.code}). It may have been revoked or have expired.`);
        else if (error.status === 429) setLimited({ error, at: Date.now() });
      },
    }),
    [onSignOut],
  );
  return (
    <ApiProvider apiKey={apiKey} events={events}>
      <Shell quota={quota} limited={limited} onDismissLimited={() => setLimited(null)} onSignOut={onSignOut} checkoutResult={checkoutResult} />
    </ApiProvider>
  );
}

const WHO = /* GraphQL */ `
  query PortalWho {
    me { account { name } plan { code } key { name role } }
    rateLimit { limit remaining resetAt }
  }
`;

function Shell({
  quota,
  limited,
  onDismissLimited,
  onSignOut,
  checkoutResult,
}: {
  quota?: CostExtension['quota'];
  limited: Limited | null;
  onDismissLimited(): void;
  onSignOut(reason: string | null): void;
  checkoutResult: string | null;
}) {
  const api = useApi();
  const route = useHashRoute();
  const who = useQuery<PortalWhoQuery>(WHO, {}, { pollMs: 15_000 });
  const heading = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);
  const now = useNow(1000);
  const role = who.data?.me.key.role;
  const isAdmin = role === 'ADMIN';
  // The role's own views; on another role's view (a link followed), its group is shown too, with the refusal.
  const restricted = ROUTES.filter((r) => r.roles && ((role && r.roles.includes(role)) || r === route));

  useEffect(() => {
    document.title = `${route.title} · Tollgraph portal`;
    // Move focus to the new view's heading so screen readers announce it (not on first load).
    if (!firstRender.current) heading.current?.focus();
    firstRender.current = false;
  }, [route]);

  // A 429 banner goes away by itself once its reset time has passed.
  const retryAt = limited?.error.retryAt(limited.at);
  const showLimited = limited && (!retryAt || retryAt.getTime() > now);
  const remaining = quota ?? who.data?.rateLimit;

  let view: ReactNode;
  switch (route.path) {
    case '/':
      view = <Overview checkoutResult={checkoutResult} />;
      break;
    case '/keys':
      view = <Keys onRevokedOwnKey={() => onSignOut('You revoked the key you were signed in with.')} />;
      break;
    case '/catalog':
      view = <Catalog />;
      break;
    case '/live':
      view = <LiveRisk />;
      break;
    case '/explorer':
      view = (
        <Suspense fallback={<Loading what="Loading GraphiQL" />}>
          <Explorer apiKey={api.key} />
        </Suspense>
      );
      break;
    case '/admin/accounts':
      view = <Accounts />;
      break;
    case '/admin/plans':
      view = <Plans />;
      break;
    case '/admin/products':
      view = <Products />;
      break;
    case '/admin/revenue':
      view = <Revenue />;
      break;
    case '/admin/audit':
      view = <Audit />;
      break;
    case '/admin/billing':
      view = <Billing />;
      break;
  }

  const link = (r: Route) => (
    <li key={r.path}>
      <a href={`#${r.path}`} aria-current={r.path === route.path ? 'page' : undefined}>
        {r.label}
      </a>
    </li>
  );

  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link to #main; the hash router owns the fragment, so it moves the focus itself */}
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => {
          // The hash router owns the URL fragment: move the focus instead of following the link.
          e.preventDefault();
          heading.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            T
          </span>
          <span>Tollgraph</span>
        </div>
        <div className="who">
          {who.data && (
            <span>
              {who.data.me.account.name} · <span data-testid="header-plan">{who.data.me.plan.code}</span>
              {isAdmin && <span className="status status-neutral">admin</span>}
            </span>
          )}
          {remaining && (
            <span className="quota-chip" title="Daily quota left (cost units)" data-testid="quota-chip">
              {formatInt(remaining.remaining)} / {formatInt(remaining.limit)} left today
            </span>
          )}
        </div>
        <button type="button" className="button secondary signout" onClick={() => onSignOut(null)}>
          Sign out
        </button>
      </header>
      <nav className="tabs" aria-label="Portal">
        <ul>{ROUTES.filter((r) => !r.roles).map(link)}</ul>
        {restricted.length > 0 && (
          <ul aria-label={role === 'PUBLISHER' ? 'Publishing' : 'Administration'} className="admin-tabs">
            <li className="tabs-label" aria-hidden="true">
              {role === 'PUBLISHER' ? 'Publishing' : 'Admin'}
            </li>
            {restricted.map(link)}
          </ul>
        )}
      </nav>
      {showLimited && limited && (
        <div className="banner" data-testid="rate-limit-banner">
          <ErrorState error={limited.error} />
          <button type="button" className="button secondary" onClick={onDismissLimited}>
            Dismiss
          </button>
        </div>
      )}
      <main id="main" className={route.path === '/explorer' ? 'main wide' : 'main'}>
        <h1 ref={heading} tabIndex={-1}>
          {route.title}
        </h1>
        {who.error && who.error.status !== 429 && <ErrorState error={who.error} onRetry={who.reload} compact />}
        {view}
      </main>
    </>
  );
}
