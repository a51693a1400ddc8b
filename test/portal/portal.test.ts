import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { graphql, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { PHONE, fitsWidth, launchChromium, newPage, screenshot, signIn, unlabelledControls, type PageProblems } from './browser';
import { tempDir } from '../support/temp-dirs';

/**
 * The developer portal end to end: the built gateway (`node dist/main.js`, embedded mode, so the
 * demo keys and the synthetic feed are there at once) driven through Debian's chromium.
 * Screenshots go to .artifacts/screenshots/ (git-ignored).
 */
describe('developer portal in a browser', () => {
  const dataDir = tempDir('tg-portal-e2e-');
  let gateway: RunningProcess;
  let browser: Browser;
  let demo: { adminKey: string; subscriberKey: string };
  let subscriber: { page: Page; problems: PageProblems };
  let admin: { page: Page; problems: PageProblems };

  const asSubscriber = (query: string, variables?: Record<string, unknown>) =>
    graphql(gateway.url, query, { headers: { authorization: `Bearer ${demo.subscriberKey}` }, variables });
  const asAdmin = (query: string, variables?: Record<string, unknown>) =>
    graphql(gateway.url, query, { headers: { authorization: `Bearer ${demo.adminKey}` }, variables });

  beforeAll(async () => {
    // Few customers buying often, so velocity pushes some of them to HIGH within a minute (a mix
    // of bands to see); quality figures every second.
    [gateway, browser] = await Promise.all([
      startGatewayProcess({ DATA_DIR: dataDir, FEED_RATE: '40', FEED_CUSTOMERS: '30', RISK_QUALITY_INTERVAL_MS: '1000' }),
      launchChromium(),
    ]);
    demo = JSON.parse(readFileSync(join(dataDir, 'demo-keys.json'), 'utf8'));
    subscriber = await newPage(browser);
    admin = await newPage(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    expect(await gateway?.stop()).toBe(0);
  });

  /**
   * The session's page, signed in with `key` unless an earlier test left it so: each test sets up the
   * page it needs and runs alone (`-t`) as well as after the others.
   */
  async function signedIn(session: { page: Page }, key: string): Promise<Page> {
    const { page } = session;
    const signOut = page.getByRole('button', { name: 'Sign out' });
    if (!page.url().startsWith(gateway.url) || !(await signOut.isVisible())) await signIn(page, gateway.url, key);
    return page;
  }

  afterEach(() => {
    // No script errors and no content-security-policy violations on any page.
    expect([...(subscriber?.problems.list ?? []), ...(admin?.problems.list ?? [])]).toEqual([]);
  });

  it('is served at / without shadowing the API and ops routes', async () => {
    const page = await fetch(`${gateway.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Tollgraph developer portal');
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toContain('tollgraph_');
    expect((await graphql(gateway.url, '{ health { status } }')).body.data).toEqual({ health: { status: 'ok' } });
    expect((await fetch(`${gateway.url}/webhooks/stripe`, { method: 'POST', body: '{}' })).status).toBe(503); // not configured here
    expect(await (await fetch(`${gateway.url}/no-such-page`)).json()).toEqual({ errors: [{ message: 'Not found.', extensions: { code: 'NOT_FOUND' } }] });
  });

  it('refuses an unknown key with the 401 state, then signs in with the demo key and shows plan, quota and usage', async () => {
    const { page } = subscriber;
    // Some metered traffic first, so the usage chart and the gauge have something to show.
    for (let i = 0; i < 3; i += 1) expect((await asSubscriber('{ topRisks(minBand: LOW, first: 5) { customerId } }')).status).toBe(200);

    await page.goto(`${gateway.url}/`);
    await screenshot(page, 'signin-desktop');
    // Keyboard only: the key field has focus, Enter submits.
    await page.keyboard.type(`tg_test_${'x'.repeat(32)}`);
    await page.keyboard.press('Enter');
    const refused = page.getByRole('alert');
    await expect(refused.textContent()).resolves.toContain('401');
    expect(await refused.textContent()).toContain('Key not accepted');

    await page.getByLabel('API key').fill(demo.subscriberKey);
    await page.keyboard.press('Enter');
    await page.getByTestId('quota-limit').waitFor();
    expect(await page.getByTestId('plan-code').textContent()).toBe('Professional');
    expect(await page.getByTestId('quota-limit').textContent()).toBe('1,000,000');
    await waitFor(
      'the gauge to count the 15 units spent',
      async () => Number((await page.getByTestId('quota-used').textContent())?.replace(/,/g, '')) >= 15,
      10_000,
    );
    await waitFor('the usage chart to show them', async () => Number((await page.getByTestId('usage-total').textContent())?.replace(/,/g, '')) >= 15, 10_000);
    expect(await page.getByRole('meter', { name: 'Daily quota used' }).getAttribute('aria-valuenow')).toMatch(/^\d+$/);
    // This month's service level from the gateway's own counts, beside the plan's promise.
    await page.getByTestId('sla-requests').waitFor();
    expect(await page.getByTestId('sla-availability').textContent()).toBe('100.000 %');
    expect(await page.getByTestId('sla-promise').textContent()).toBe('99.900 %');
    expect(Number((await page.getByTestId('sla-requests').textContent())?.replace(/,/g, ''))).toBeGreaterThanOrEqual(3);
    expect(await page.locator('svg[role="img"] title').first().textContent()).toMatch(/Cost units per day over the last 30 days/);

    // The key is in this tab's session storage only.
    expect(await page.evaluate("sessionStorage.getItem('tollgraph.apiKey')")).toBe(demo.subscriberKey);
    expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(demo.subscriberKey);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'overview-desktop');
  });

  it('creates a key, shows its secret once with a copy button, and revokes it', async () => {
    const page = await signedIn(subscriber, demo.subscriberKey);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByLabel('Name').fill('e2e key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretField = page.getByTestId('new-key-secret');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^tg_test_[A-Za-z0-9]{32}$/);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByText('Copied to the clipboard').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'keys-created-desktop');

    // The secret works, and is shown only once: not after dismissing it, not after a reload.
    expect((await graphql(gateway.url, '{ me { key { name } } }', { headers: { authorization: `Bearer ${secret}` } })).body.data).toEqual({
      me: { key: { name: 'e2e key' } },
    });
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.reload();
    const row = page.locator('tr[data-key-name="e2e key"]');
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(await row.textContent()).toContain('active');

    await row.getByRole('button', { name: 'Revoke key e2e key' }).click();
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await waitFor('the key to show as revoked', async () => (await row.textContent())?.includes('revoked') ?? false, 10_000);
    expect((await graphql(gateway.url, '{ me { key { name } } }', { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    await screenshot(page, 'keys-desktop');
  });

  it('shows live risk updates arriving over the WebSocket, bands coloured', async () => {
    const page = await signedIn(subscriber, demo.subscriberKey);
    await page.getByRole('link', { name: 'Live risk' }).click();
    await page.locator('[data-testid="feed-mode"][data-mode="live"]').waitFor({ timeout: 15_000 });
    const rows = page.getByTestId('risk-row');
    await waitFor('scores to arrive', async () => (await rows.count()) >= 5, 20_000);
    const first = await rows.first().getAttribute('class');
    const newest = await rows.first().textContent();
    await waitFor('newer scores to arrive', async () => (await rows.first().textContent()) !== newest, 10_000);
    expect(first).toMatch(/^row-(low|medium|high|critical)$/);
    // Every band badge says its band in words and in colour.
    const badges = (await page.evaluate(`[...document.querySelectorAll('[data-testid="risk-feed"] .band')]
      .map((node) => ({ text: node.textContent, className: node.className, background: getComputedStyle(node).backgroundColor }))`)) as {
      text: string;
      className: string;
      background: string;
    }[];
    expect(badges.length).toBeGreaterThan(0);
    for (const badge of badges) {
      expect(badge.className).toBe(`band band-${badge.text?.toLowerCase()}`);
      expect(badge.background).not.toBe('rgba(0, 0, 0, 0)');
    }
    // Only HIGH and above: the list starts again and fills with those alone.
    await page.getByLabel('Bands').selectOption('HIGH');
    await waitFor('a HIGH or CRITICAL score', async () => (await page.locator('tr.row-high, tr.row-critical').count()) > 0, 60_000);
    expect(await page.locator('tr.row-low, tr.row-medium').count()).toBe(0);
    await page.getByLabel('Bands').selectOption('LOW');
    await waitFor('the feed to refill', async () => (await rows.count()) >= 10, 10_000);
    await screenshot(page, 'live-desktop');
  }, 120_000);

  it('lists the catalog with its SLO and live quality figures', async () => {
    const page = await signedIn(subscriber, demo.subscriberKey);
    await page.getByRole('link', { name: 'Catalog' }).click();
    await page.getByRole('heading', { name: /Customer risk scores/ }).waitFor();
    expect(await page.getByText('Read latency p99').count()).toBeGreaterThan(0);
    // The pipeline reports quality every second here; the page refreshes every 10 s.
    await page.getByTestId('quality-customer-risk-scores').waitFor({ timeout: 25_000 });
    expect(await page.getByTestId('quality-customer-risk-scores').textContent()).toMatch(/events\/s/);
    await screenshot(page, 'catalog-desktop');
  }, 40_000);

  it('is a marketplace: filters products and says how the subscriber reads each', async () => {
    const page = await signedIn(subscriber, demo.subscriberKey);
    await page.getByRole('link', { name: 'Catalog' }).click();
    const riskScores = page.getByTestId('access-customer-risk-scores');
    await riskScores.waitFor();
    // The demo subscriber is on PROFESSIONAL, which the product's policy includes.
    expect(await riskScores.textContent()).toMatch(/in your plan/);
    const filters = page.getByRole('form', { name: 'Filter data products' });
    await filters.getByLabel('My plan').selectOption('false');
    await waitFor('the filtered list', async () => (await riskScores.count()) === 0, 10_000);
    await filters.getByLabel('My plan').selectOption('true');
    await filters.getByLabel('Domain').selectOption('risk');
    await riskScores.waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'marketplace-desktop');
  }, 40_000);

  it('opens GraphiQL from /graphql in a browser without signing in, and runs public fields with no key', async () => {
    const { context, page, problems } = await newPage(browser);
    const sent: Array<string | undefined> = [];
    page.on('request', (request) => void (request.url().endsWith('/graphql') && request.method() === 'POST' && sent.push(request.headers().authorization)));
    await page.goto(`${gateway.url}/graphql`);
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    expect(await page.getByRole('status').textContent()).toMatch(/Not signed in/);
    await waitFor(
      'the public query in the editor',
      async () => ((await page.locator('.graphiql-query-editor').textContent()) ?? '').includes('health'),
      20_000,
    );
    const answered = async () => ((await page.locator('.graphiql-response').textContent()) ?? '').replace(/\s+/g, ' ').includes('"status": "ok"');
    const execute = page.getByRole('button', { name: /execute query/i });
    await execute.click();
    await waitFor('the public answer', answered, 15_000).catch(async () => {
      await execute.click();
      await waitFor('the public answer', answered, 15_000);
    });
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((authorization) => authorization === undefined)).toBe(true);
    await screenshot(page, 'explorer-public-desktop');
    expect(problems.list).toEqual([]);
    await context.close();
  }, 60_000);

  it('runs queries in the embedded GraphiQL with the signed-in key', async () => {
    const page = await signedIn(subscriber, demo.subscriberKey);
    await page.getByRole('link', { name: 'Explorer' }).click();
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    // Run only once the editor holds the default query (a run before that sends nothing).
    await waitFor('the query editor', async () => ((await page.locator('.graphiql-query-editor').textContent()) ?? '').includes('WhoAmI'), 20_000);
    const execute = page.getByRole('button', { name: /execute query/i });
    // Monaco draws spaces as no-break spaces.
    const answered = async () => ((await page.locator('.graphiql-response').textContent()) ?? '').replace(/\s+/g, ' ').includes('"name": "Demo Subscriber"');
    await execute.click();
    await waitFor('the response', answered, 15_000)
      // On a loaded machine GraphiQL may still be starting up when the first click lands: once more.
      .catch(async () => {
        await execute.click();
        await waitFor('the response', answered, 15_000);
      })
      .catch(async (error: Error) => {
        await screenshot(page, 'explorer-failure-desktop');
        throw error;
      });
    // GraphiQL keeps tabs and history in localStorage; the key is not among them.
    expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(demo.subscriberKey);
    await screenshot(page, 'explorer-desktop');
  }, 40_000);

  it('shows the 403 state when a subscriber key opens an admin page', async () => {
    const page = await signedIn(subscriber, demo.subscriberKey);
    await page.goto(`${gateway.url}/#/admin/accounts`);
    const alert = page.locator('[data-error-code="FORBIDDEN"]');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('403');
    await page.goto(`${gateway.url}/#/`);
  });

  it('lets the admin change the subscriber’s plan and the plan itself; the subscriber’s page shows the new quota', async () => {
    const page = await signedIn(admin, demo.adminKey);
    // The subscriber's overview is open, to see the new quota arrive there.
    await signedIn(subscriber, demo.subscriberKey);
    await subscriber.page.getByRole('link', { name: 'Overview' }).click();
    await subscriber.page.getByTestId('quota-limit').waitFor();
    await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Accounts' }).click();
    const row = page.locator('tr[data-account-name="Demo Subscriber"]');
    await row.waitFor();
    await waitFor('usage per account', async () => !((await row.textContent()) ?? '').includes('…'), 10_000);
    await screenshot(page, 'admin-accounts-desktop');

    // Move the subscriber to ENTERPRISE.
    await row.getByLabel('Plan of Demo Subscriber').selectOption('ENTERPRISE');
    await row.getByRole('button', { name: 'Apply plan to Demo Subscriber' }).click();
    await waitFor('the account to be on ENTERPRISE', async () => (await row.textContent())?.includes('50,000,000') ?? false, 10_000);
    const quota = subscriber.page.getByTestId('quota-limit');
    await waitFor('the subscriber to see the ENTERPRISE quota', async () => (await quota.textContent()) === '50,000,000', 20_000);
    expect(await subscriber.page.getByTestId('plan-code').textContent()).toBe('Enterprise');

    // Edit the ENTERPRISE plan's daily quota in the plan editor.
    await page.getByRole('link', { name: 'Plans' }).click();
    const editor = page.locator('form[data-plan="ENTERPRISE"]');
    await editor.getByLabel('Daily quota (units)').fill('60000000');
    await editor.getByRole('button', { name: 'Save ENTERPRISE' }).click();
    await page.getByRole('heading', { name: /ENTERPRISE.*60,000,000 units\/day/ }).waitFor();
    await waitFor('the subscriber to see the edited plan quota', async () => (await quota.textContent()) === '60,000,000', 20_000);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'admin-plans-desktop');
    await screenshot(subscriber.page, 'overview-after-plan-change-desktop');

    // Both changes are in the audit log.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByTestId('audit-table').waitFor();
    await waitFor(
      'the audit entries',
      async () => {
        const text = (await page.getByTestId('audit-table').textContent()) ?? '';
        return text.includes('account.setPlan') && text.includes('plan.update');
      },
      10_000,
    );
    await screenshot(page, 'admin-audit-desktop');
  }, 90_000);

  it('shows the admin’s data products, publishing form and billing status', async () => {
    const page = await signedIn(admin, demo.adminKey);
    await page.getByRole('link', { name: 'Data products' }).click();
    // the catalogue lists every product (three from the seed): the risk scores' row
    await page.getByTestId('products-table').getByRole('row').filter({ hasText: 'customer-risk-scores' }).getByRole('button', { name: 'New version' }).click();
    await expect(page.getByLabel('Version (semver)').inputValue()).resolves.toBe('1.1.0');
    // A published product takes no draft: the gateway's refusal is shown as it is.
    await page.getByRole('button', { name: 'Save as draft' }).click();
    await page
      .locator('[data-error-code="BAD_USER_INPUT"]')
      .getByText(/already published/)
      .waitFor({ timeout: 15_000 });
    await page.getByLabel('Description').fill('Real-time fraud risk per card customer, now with a longer description.');
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    await page.getByText('Published customer-risk-scores 1.1.0.').waitFor({ timeout: 15_000 });
    await waitFor('the list to show 1.1.0', async () => (await page.getByTestId('products-table').textContent())?.includes('1.1.0') ?? false, 10_000);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'admin-products-desktop');

    // Metered use of the subscriber's of this test's own, so the subscriber has a row to reconcile.
    expect((await asSubscriber('{ topRisks(minBand: LOW, first: 5) { customerId } }')).status).toBe(200);
    await page.getByRole('link', { name: 'Billing', exact: true }).click();
    const reconciliation = page.getByTestId('reconciliation-table');
    await waitFor(
      'the subscriber in the reconciliation',
      async () => {
        await reconciliation.waitFor({ timeout: 20_000 });
        if ((await reconciliation.textContent())?.includes('Demo Subscriber')) return true;
        await page.reload(); // the usage is written after the answer: read the page again
        return false;
      },
      30_000,
      250,
    );
    await page.getByRole('heading', { name: 'Stripe webhook events' }).waitFor();
    await screenshot(page, 'admin-billing-desktop');
  }, 60_000);

  it('gives a publisher the products and revenue of its domain, and none of the admin’s views', async () => {
    // An admin makes a PUBLISHER key of the risk domain, as an operator would.
    const admins = (await asAdmin('{ me { account { id } } }')).body.data.me.account.id;
    const created = await asAdmin('mutation($a: ID!) { createApiKey(accountId: $a, name: "risk team", role: PUBLISHER, domains: ["risk"]) { key } }', {
      a: admins,
    });
    const publisherKey: string = created.body.data.createApiKey.key;
    // A charged read of its own product (scores exist: the demo feed runs), so the month has a row for it whatever ran before.
    await waitFor(
      'a charged read of the risk scores',
      async () => {
        const read = await graphql(gateway.url, '{ topRisks(minBand: LOW, first: 5) { customerId } }', {
          headers: { authorization: `Bearer ${publisherKey}` },
        });
        return ((read.body as { extensions?: { cost?: { actualQueryCost: number } } }).extensions?.cost?.actualQueryCost ?? 0) > 0;
      },
      30_000,
      250,
    );

    const publisher = await newPage(browser);
    try {
      const page = publisher.page;
      await signIn(page, gateway.url, publisherKey);
      const publishing = page.getByRole('list', { name: 'Publishing' });
      await publishing.getByRole('link', { name: 'Data products' }).waitFor();
      expect(await page.getByRole('link', { name: 'Accounts' }).count()).toBe(0);
      await publishing.getByRole('link', { name: 'Revenue' }).click();
      const table = page.getByTestId('revenue-table');
      await waitFor(
        'its product’s usage in the revenue table',
        async () => {
          if (await table.isVisible()) return (await table.textContent())?.includes('customer-risk-scores') ?? false;
          await page.reload(); // the ledger is written after the answer: read the page again
          return false;
        },
        30_000,
        250,
      );
      // Its own domain's figures only (the gateway decides; the view shows what it is given).
      expect(await page.getByTestId('domain-revenue-table').getByRole('rowheader').allTextContents()).toEqual(['risk']);
      expect(await unlabelledControls(page)).toEqual([]);
      await screenshot(page, 'publisher-revenue-desktop');
      expect(publisher.problems.list).toEqual([]);
    } finally {
      await publisher.context.close();
    }
  }, 60_000);

  it('is readable at phone width', async () => {
    const phone = await newPage(browser, PHONE);
    try {
      await signIn(phone.page, gateway.url, demo.subscriberKey);
      const views: [string, () => Promise<unknown>][] = [
        ['overview', () => phone.page.getByTestId('quota-limit').waitFor()],
        ['keys', () => phone.page.getByTestId('keys-table').waitFor()],
        ['catalog', () => phone.page.getByRole('heading', { name: /Customer risk scores/ }).waitFor()],
        ['live', () => waitFor('scores', async () => (await phone.page.getByTestId('risk-row').count()) >= 5, 15_000)],
        ['explorer', () => phone.page.locator('.graphiql-container').waitFor({ timeout: 20_000 })],
      ];
      for (const [name, ready] of views) {
        await phone.page.goto(`${gateway.url}/#/${name === 'overview' ? '' : name}`);
        await ready();
        expect({ name, fits: await fitsWidth(phone.page) }).toEqual({ name, fits: true });
        await screenshot(phone.page, `${name}-phone`);
      }
      await phone.page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(phone.page, gateway.url, demo.adminKey);
      for (const name of ['accounts', 'billing']) {
        await phone.page.goto(`${gateway.url}/#/admin/${name}`);
        await phone.page.locator('table').first().waitFor({ timeout: 20_000 });
        expect({ name, fits: await fitsWidth(phone.page) }).toEqual({ name, fits: true });
        await screenshot(phone.page, `admin-${name}-phone`);
      }
      await phone.page.getByRole('button', { name: 'Sign out' }).click();
      await screenshot(phone.page, 'signin-phone');
      expect(phone.problems.list).toEqual([]);
    } finally {
      await phone.context.close();
    }
  }, 120_000);

  it('sends a FREE subscriber to Stripe Checkout from the upgrade button, and says so when billing is off', async () => {
    const account = await asAdmin('mutation { createAccount(input: { name: "Free Trial Co", email: "free@example.com" }) { id planCode } }');
    expect(account.body.data.createAccount.planCode).toBe('FREE');
    const created = await asAdmin('mutation($id: ID!) { createApiKey(accountId: $id, name: "free key") { key } }', { id: account.body.data.createAccount.id });
    const free = await newPage(browser);
    try {
      const { page } = free;
      await signIn(page, gateway.url, created.body.data.createApiKey.key);
      const upgrade = page.getByRole('button', { name: /Upgrade to Professional/ });
      // This embedded gateway has no STRIPE_SECRET_KEY: the gateway's 503 is shown, nothing else happens.
      await upgrade.click();
      await page
        .locator('[data-error-code="SERVICE_UNAVAILABLE"]')
        .getByText(/Billing is not configured/)
        .waitFor();
      await screenshot(page, 'overview-free-desktop');

      // With billing on, the gateway answers a Checkout URL and the browser goes there.
      const checkoutUrl = 'https://checkout.stripe.test/c/pay/cs_test_portal';
      await page.route('**/graphql', async (route) => {
        if (!route.request().postData()?.includes('createCheckoutSession')) return route.fallback();
        expect(route.request().postDataJSON().variables).toEqual({ planCode: 'PROFESSIONAL' });
        await route.fulfill({ json: { data: { createCheckoutSession: { url: checkoutUrl } } } });
      });
      await page.route(checkoutUrl, (route) => route.fulfill({ contentType: 'text/html', body: '<title>Stripe Checkout</title>' }));
      await upgrade.click();
      await page.waitForURL(checkoutUrl);
      // Back from Checkout, the portal says what happened.
      await page.goto(`${gateway.url}/?checkout=success`);
      await page.getByText(/Stripe has your payment details/).waitFor();
      expect(page.url()).toBe(`${gateway.url}/`);
      expect(free.problems.list).toEqual([]);
    } finally {
      await free.context.close();
    }
  });

  it('shows the 429 state, with the reset time, once the daily quota is spent', async () => {
    // The admin gives the subscriber a tiny daily quota through the overrides form.
    const page = await signedIn(admin, demo.adminKey);
    await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Accounts' }).click();
    const row = page.locator('tr[data-account-name="Demo Subscriber"]');
    await row.getByRole('button', { name: 'Overrides of Demo Subscriber' }).click();
    const form = page.getByRole('form', { name: 'Limit overrides of Demo Subscriber' });
    await form.getByLabel('Daily quota (units)').fill('40');
    await form.getByRole('button', { name: 'Save overrides' }).click();
    await form.getByText('Saved.').waitFor();
    await screenshot(page, 'admin-overrides-desktop');

    // Spend it: paid queries until the gateway says QUOTA_EXCEEDED.
    await waitFor('the quota to run out', async () => (await asSubscriber('{ topRisks(minBand: LOW, first: 10) { customerId } }')).status === 429, 20_000, 50);
    const refused = await asSubscriber('{ topRisks(minBand: LOW, first: 1) { customerId } }');
    expect(refused.body.errors?.[0].extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', resetAt: expect.any(String) });
    const resetAt = new Date(refused.body.errors![0].extensions.resetAt as string);

    const sub = await signedIn(subscriber, demo.subscriberKey);
    await sub.getByRole('link', { name: 'Live risk' }).click();
    const state = sub.locator('[data-error-code="QUOTA_EXCEEDED"]').first();
    await state.waitFor({ timeout: 15_000 });
    const text = (await state.textContent()) ?? '';
    expect(text).toContain('429');
    expect(text).toContain('Daily quota spent');
    expect(text).toContain(`Resets at ${resetAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`);
    expect(await state.locator('time').getAttribute('datetime')).toBe(resetAt.toISOString());
    await sub.getByTestId('rate-limit-banner').waitFor();
    await screenshot(sub, 'quota-exceeded-desktop');

    // The free parts keep working: the overview shows the gauge full and says why.
    await sub.getByRole('link', { name: 'Overview' }).click();
    await waitFor('the quota to show 40', async () => (await sub.getByTestId('quota-limit').textContent()) === '40', 15_000);
    await sub.getByText('The daily quota is spent').waitFor();
    expect(await sub.getByTestId('quota-remaining').textContent()).toBe('0');
    await screenshot(sub, 'overview-quota-spent-desktop');
    await sub.setViewportSize(PHONE);
    await screenshot(sub, 'overview-quota-spent-phone');
  }, 60_000);
});
