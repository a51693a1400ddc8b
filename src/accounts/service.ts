import { z } from 'zod';
import type { Account, PlanCode, PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import { recordAudit, type Actor } from '../audit/audit';
import { InvalidatingCache } from '../cache/invalidating-cache';
import { badInput, parseInput } from '../errors';
import type { PlanCatalog } from '../plans/service';
import type { Plan } from '../plans/plan.types';
import type { PubSub } from '../pubsub/pubsub';
import { activeAddOns } from '../billing/add-ons';

/** The limits in force for an account: its plan's, with any per-account override on top. */
export interface EffectiveLimits {
  dailyQuota: number;
  burstPerSecond: number;
  maxQueryCost: number;
  maxDepth: number;
  /** Requests in flight held for the account in each gateway process under overload (0: none). */
  reservedConcurrency: number;
}

export interface AccountAccess {
  account: Account;
  plan: Plan;
  limits: EffectiveLimits;
  /** Data products (slugs) the account bought as add-ons: readable whatever its plan. */
  addOns: ReadonlySet<string>;
}

/** What the request path caches per account: its row and its add-ons (both change through Stripe, both dropped together). */
interface CachedAccount {
  account: Account;
  addOns: ReadonlySet<string>;
}

export type LimitOverrides = Partial<Record<keyof EffectiveLimits, number | null>>;

const LIMITS = ['dailyQuota', 'burstPerSecond', 'maxQueryCost', 'maxDepth', 'reservedConcurrency'] as const;

const newAccount = z.object({
  name: z.string().trim().min(1, 'name must not be empty').max(200, 'name must be at most 200 characters'),
  email: z.string().trim().toLowerCase().max(320, 'email must be at most 320 characters').pipe(z.email('email must be an email address')),
});

const overrideValue = z
  .number()
  .int('limits are whole numbers')
  .positive('limits must be positive')
  .max(2_000_000_000, 'limit too large')
  .nullable()
  .optional();
const overrides = z.object({
  ...(Object.fromEntries(LIMITS.map((name) => [name, overrideValue])) as Record<(typeof LIMITS)[number], typeof overrideValue>),
  // 0 is a valid override here: no reservation for this account whatever its plan holds.
  reservedConcurrency: z
    .number()
    .int('limits are whole numbers')
    .min(0, 'reservedConcurrency must not be negative')
    .max(10_000, 'reservedConcurrency must be at most 10000')
    .nullable()
    .optional(),
});

/** Built once: `find` runs on every authenticated request. */
const accountId = z.uuid();

/** A client, or the transaction of another domain's change that must commit with the account's. */
type Db = PrismaClient | Prisma.TransactionClient;

/** Uncached reads for other domains' jobs and transactions (billing, SLA credits). */
export function findAccount(db: Db, id: string): Promise<Account | null> {
  return db.account.findUnique({ where: { id } });
}

export function findAccountByStripeCustomer(db: Db, stripeCustomerId: string): Promise<Account | null> {
  return db.account.findUnique({ where: { stripeCustomerId } });
}

/** Holds the account's row until `tx` ends, so changes to one account apply one after the other; false when it does not exist. */
export async function lockAccount(tx: Prisma.TransactionClient, id: string): Promise<boolean> {
  const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id::text AS id FROM accounts WHERE id = ${id}::uuid FOR UPDATE`;
  return locked.length > 0;
}

/** The Stripe customer of each of the accounts (null: none linked); accounts that do not exist are absent. */
export async function stripeCustomersOf(db: Db, ids: string[]): Promise<Map<string, string | null>> {
  const rows = await db.account.findMany({ where: { id: { in: ids } }, select: { id: true, stripeCustomerId: true } });
  return new Map(rows.map((row) => [row.id, row.stripeCustomerId]));
}

/** The ids of every account linked to a Stripe customer: the accounts whose usage is billed through Stripe. */
export async function stripeLinkedAccounts(db: Db): Promise<Map<string, string>> {
  const rows = await db.account.findMany({ where: { stripeCustomerId: { not: null } }, select: { id: true, stripeCustomerId: true } });
  return new Map(rows.map((row) => [row.id, row.stripeCustomerId!]));
}

export function effectiveLimits(account: Account, plan: Plan): EffectiveLimits {
  return Object.fromEntries(LIMITS.map((name) => [name, account[name] ?? plan[name]])) as unknown as EffectiveLimits;
}

/** Accounts and their plans. Every read on the request path goes through a cache that all processes refresh on change. */
export class AccountService {
  /** What `access` answered for each cached account row (a changed account is a new row). */
  private readonly accessOf = new WeakMap<CachedAccount, AccountAccess>();

  private constructor(
    private readonly prisma: PrismaClient,
    private readonly plans: PlanCatalog,
    private readonly cache: InvalidatingCache<CachedAccount | null>,
  ) {}

  static async create(prisma: PrismaClient, plans: PlanCatalog, pubsub: PubSub): Promise<AccountService> {
    return new AccountService(prisma, plans, await InvalidatingCache.create(pubsub, 'accounts:invalidate'));
  }

  async find(id: string): Promise<Account | null> {
    if (!accountId.safeParse(id).success) return null;
    return (await this.cached(id))?.account ?? null;
  }

  private cached(id: string): Promise<CachedAccount | null> {
    return this.cache.get(id, async () => {
      const [account, addOns] = await Promise.all([this.prisma.account.findUnique({ where: { id } }), activeAddOns(this.prisma, id)]);
      return account && { account, addOns: new Set(addOns) };
    });
  }

  /**
   * Plan, limits and grants for a request, for the account of a verified key (its id needs no
   * checking); null when the account is gone or disabled. Made once per cached account and plan.
   */
  async access(id: string): Promise<AccountAccess | null> {
    const cached = await this.cached(id);
    if (!cached || cached.account.disabledAt) return null;
    const { account, addOns } = cached;
    const plan = await this.plans.get(account.planCode);
    const known = this.accessOf.get(cached);
    if (known?.plan === plan) return known;
    const access = { account, plan, limits: effectiveLimits(account, plan), addOns };
    this.accessOf.set(cached, access);
    return access;
  }

  async list({ first, after }: { first: number; after?: string }): Promise<{ accounts: Account[]; hasNextPage: boolean }> {
    const rows = await this.prisma.account.findMany({ orderBy: { id: 'asc' }, take: first + 1, ...(after ? { where: { id: { gt: after } } } : {}) });
    return { accounts: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async create(input: { name: string; email: string; planCode: PlanCode }, actor: Actor): Promise<Account> {
    const { name, email } = parseInput(newAccount, input);
    try {
      return await this.prisma.$transaction(async (tx) => {
        const account = await tx.account.create({ data: { name, email, planCode: input.planCode } });
        await recordAudit(tx, actor, { action: 'account.create', targetType: 'Account', targetId: account.id, after: account });
        return account;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')
        throw badInput(`an account with email ${email} already exists`, { fields: ['email'] });
      throw error;
    }
  }

  /** Links the account to its Stripe customer (once: an existing link is kept). */
  async linkStripeCustomer(id: string, stripeCustomerId: string, actor: Actor): Promise<Account> {
    const account = await this.find(id);
    if (account?.stripeCustomerId) return account;
    return this.change(id, 'account.linkStripeCustomer', { stripeCustomerId }, actor);
  }

  /**
   * Drops the account from the cache of every gateway process. For writers that change an account
   * inside their own transaction (Stripe webhooks): call it after the commit.
   */
  invalidate(id: string): Promise<void> {
    return this.cache.invalidate(id);
  }

  setPlan(id: string, planCode: PlanCode, actor: Actor): Promise<Account> {
    return this.change(id, 'account.setPlan', { planCode }, actor);
  }

  /**
   * setPlan inside the caller's transaction (a Stripe event's): false when the account is on the
   * plan already. The caller calls `invalidate` after its commit.
   */
  async setPlanIn(tx: Prisma.TransactionClient, id: string, planCode: PlanCode, actor: Actor): Promise<boolean> {
    const current = await tx.account.findUniqueOrThrow({ where: { id }, select: { planCode: true } });
    if (current.planCode === planCode) return false;
    await changeIn(tx, id, 'account.setPlan', { planCode }, actor);
    return true;
  }

  /** Links a Stripe customer inside the caller's transaction (see setPlanIn); the caller checks no link exists yet. */
  async linkStripeCustomerIn(tx: Prisma.TransactionClient, id: string, stripeCustomerId: string, actor: Actor): Promise<void> {
    await changeIn(tx, id, 'account.linkStripeCustomer', { stripeCustomerId }, actor);
  }

  setOverrides(id: string, input: LimitOverrides, actor: Actor): Promise<Account> {
    return this.change(id, 'account.setOverrides', parseInput(overrides, input), actor);
  }

  private async change(id: string, action: string, data: Prisma.AccountUncheckedUpdateInput, actor: Actor): Promise<Account> {
    if (!(await this.find(id))) throw badInput(`no account with id ${id}`, { fields: ['accountId'] });
    const account = await this.prisma.$transaction((tx) => changeIn(tx, id, action, data, actor));
    await this.cache.invalidate(id);
    return account;
  }
}

/** Every change to an account: the row and its audit entry, in one transaction. */
async function changeIn(tx: Prisma.TransactionClient, id: string, action: string, data: Prisma.AccountUncheckedUpdateInput, actor: Actor): Promise<Account> {
  const before = await tx.account.findUniqueOrThrow({ where: { id } });
  const after = await tx.account.update({ where: { id }, data });
  await recordAudit(tx, actor, { action, targetType: 'Account', targetId: id, before, after });
  return after;
}
