import type { AuditLog, Prisma, PrismaClient } from '../generated/prisma/client';

/** Who acted: an API key (with its account), the CLI, or a system component. */
export interface Actor {
  type: 'key' | 'cli' | `system:${string}`;
  keyId?: string;
  accountId?: string;
  requestId?: string;
}

export const CLI_ACTOR: Actor = { type: 'cli' };

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string;
  before?: unknown;
  after?: unknown;
}

type Json = Prisma.InputJsonValue;

/** Plain JSON for before/after: dates as ISO strings, no secrets (callers pass public views). */
function toJson(value: unknown): Json | undefined {
  return value === undefined || value === null ? undefined : (JSON.parse(JSON.stringify(value)) as Json);
}

/**
 * Writes one audit entry inside the caller's transaction, so the entry exists exactly when the
 * change it describes does.
 */
export async function recordAudit(tx: Prisma.TransactionClient, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.auditLog.create({
    data: {
      actorType: actor.type,
      actorKeyId: actor.keyId,
      actorAccountId: actor.accountId,
      requestId: actor.requestId,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      before: toJson(entry.before),
      after: toJson(entry.after),
    },
  });
}

/** The audit log as admins read it. */
export class AuditTrail {
  constructor(private readonly prisma: PrismaClient) {}

  /** Newest first, `first` entries after the entry `after` (by id). */
  async list({ first, after }: { first: number; after?: string }): Promise<{ entries: AuditLog[]; hasNextPage: boolean }> {
    const rows = await this.prisma.auditLog.findMany({ orderBy: { id: 'desc' }, take: first + 1, ...(after ? { where: { id: { lt: after } } } : {}) });
    return { entries: rows.slice(0, first), hasNextPage: rows.length > first };
  }
}
