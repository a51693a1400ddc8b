/** Load on an account's quota from many concurrent clients (test/limits/leases.test.ts, test/redis/cluster.test.ts). */

/**
 * How long a plan change or a revocation may take to reach every process in these tests. The
 * broadcast takes tens of milliseconds on an idle machine (README: "within a second"); a wall-clock
 * bound that tight fails on a loaded one for no fault of the code. Five seconds is far below the
 * caches' own expiry (keys and accounts 30 s, plans 60 s), so passing still proves the broadcast.
 */
export const BROADCAST_DEADLINE_MS = 5000;

export const OWN_ACCOUNT = 'query($a: ID!) { account(id: $a) { id } }'; // costs exactly 1

export const ask = async (url: string, key: string, query = OWN_ACCOUNT, variables?: Record<string, unknown>) => {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as any;
  return { status: response.status, code: body.errors?.[0]?.extensions?.code as string | undefined, body, retryAfter: response.headers.get('retry-after') };
};

/**
 * `clients` clients per URL, each asking until refused (or until `stop()` says so); counts the
 * answers. A `503 SERVICE_UNAVAILABLE` (nothing admitted, nothing billed: a gateway that could not
 * reach its ledger or limits in time, which a loaded test machine makes happen) is asked again
 * after its Retry-After, as a well-behaved client does; each one is kept in `unavailable`.
 */
export const hammer = (targets: string[], clients: number, { key, accountId }: { key: string; accountId: string }, stop = () => false) => {
  const tally = { admitted: 0, refusals: {} as Record<string, number>, unavailable: [] as string[] };
  const client = async (url: string) => {
    while (!stop()) {
      const answer = await ask(url, key, OWN_ACCOUNT, { a: accountId }).catch(() => ({ status: 0, code: 'CONNECTION', body: undefined, retryAfter: null }));
      if (answer.status === 200 && !answer.code) tally.admitted++;
      else if (answer.status === 503 && answer.code === 'SERVICE_UNAVAILABLE') {
        tally.unavailable.push(answer.body?.errors?.[0]?.message);
        await new Promise((resolve) => setTimeout(resolve, 1000 * Number(answer.retryAfter ?? 1)));
      } else {
        tally.refusals[answer.code ?? String(answer.status)] = (tally.refusals[answer.code ?? String(answer.status)] ?? 0) + 1;
        return;
      }
    }
  };
  const done = Promise.all(targets.flatMap((url) => Array.from({ length: clients }, () => client(url))));
  return { tally, done };
};
