import { connect } from 'node:net';
import type { AuthState } from '../auth/viewer';
import { hashKey, keyFromHeaders } from '../keys/secret';
import type { Logger } from '../ops/logger';

/**
 * The edge's priority classes (deploy/edge/haproxy.cfg): lower is served first. Only paying plans
 * have entries; any other key (FREE, or one the edge does not know yet) is 200, no key 300.
 */
export const EDGE_CLASSES = { ENTERPRISE: 0, PROFESSIONAL: 100 } as const;

export interface EdgeSettings {
  /** The edge's runtime API, host:port (HAProxy's `stats socket ... level admin`). */
  runtimeApi: string;
  /** The priority map's name as the edge knows it (its file path). */
  map: string;
  /** How often every entry this process knows is sent again (an edge that restarted has lost them). */
  resyncMs: number;
  /** Slots of this process kept for ENTERPRISE while it is active (unset: the edge's maxconn is never changed). */
  reserve?: EdgeReserve;
}

/**
 * Reserved concurrency at the edge: while an ENTERPRISE key has been served here within `idleMs`,
 * the other plans may run at most `maxconn - slots` requests at once in this process (the edge's
 * `server` entry for it, `<backend>/<server>`), so an ENTERPRISE request shares the event loop with
 * fewer of them; when ENTERPRISE has been idle that long, they have all `maxconn` slots again.
 */
export interface EdgeReserve {
  server: string;
  maxconn: number;
  slots: number;
  idleMs: number;
}

type Headers = Parameters<typeof keyFromHeaders>[0];

/**
 * Keeps the edge's priority map in step with what this gateway process learns when it verifies
 * keys, so that a queue in front of Node.js can serve the highest plans first without a database
 * of its own: a paying key is added the first time it is verified here, changed when its plan
 * changes, and removed the first time it is refused here (revoked, expired, account disabled). A
 * key's class only orders the edge's queue; the gateway still authenticates every request, so a
 * stale entry can reorder a queue for a moment and never admits anything.
 *
 * Updates are written in batches (one connection per turn of the event loop, commands separated
 * by ';', as the runtime API takes them), and every known entry again each `resyncMs`.
 */
export class EdgePriorities {
  /** Key id -> what the edge was told about it. */
  private readonly known = new Map<string, { hash: string; priorityClass: number }>();
  /** Hash -> key id, for the entries the edge holds (a refused key is known only by its hash). */
  private readonly keyIds = new Map<string, string>();
  private commands: string[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly releaseTimer: NodeJS.Timeout | undefined;
  /** When an ENTERPRISE key was last served here (0: not since the slots were released). */
  private enterpriseSeenAt = 0;

  constructor(
    private readonly settings: EdgeSettings,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.resync(), settings.resyncMs);
    this.timer.unref();
    const reserve = settings.reserve;
    if (reserve) {
      this.releaseTimer = setInterval(() => this.releaseIfIdle(reserve), Math.max(50, reserve.idleMs / 4));
      this.releaseTimer.unref();
      // A process killed while it held the reserve left the edge's maxconn lowered: its successor
      // (or this process, after a restart) gives the other plans their slots back from the start.
      this.sendMaxconn(reserve);
    }
  }

  /** Slots currently kept for ENTERPRISE (`tollgraph_edge_reserved_slots`). */
  get reservedSlots(): number {
    return this.enterpriseSeenAt > 0 ? (this.settings.reserve?.slots ?? 0) : 0;
  }

  /**
   * After a request's key was checked: nothing to do for most requests (a map lookup). The key's
   * hash is computed again only when the edge may have to be told something: a paying key new
   * here or on another plan, or a refused key (not for an address blocked for guessing keys, or a
   * key that is not even well formed: neither can be in the map).
   */
  observe(auth: AuthState, headers: Headers): void {
    const viewer = auth.viewer;
    if (viewer) {
      const priorityClass = EDGE_CLASSES[viewer.access.plan.code as keyof typeof EDGE_CLASSES];
      if (priorityClass === EDGE_CLASSES.ENTERPRISE && this.settings.reserve) this.enterpriseServed(this.settings.reserve);
      const known = this.known.get(viewer.key.id);
      if (known?.priorityClass === priorityClass) return;
      if (priorityClass === undefined) {
        if (known) this.remove(viewer.key.id, known.hash);
        return;
      }
      const secret = keyFromHeaders(headers);
      if (secret === undefined) return;
      const hash = known?.hash ?? hashKey(secret);
      this.known.set(viewer.key.id, { hash, priorityClass });
      this.keyIds.set(hash, viewer.key.id);
      this.set(hash, priorityClass);
    } else if (auth.refused && auth.refused !== 'BLOCKED' && auth.refused !== 'MALFORMED' && this.keyIds.size > 0) {
      const secret = keyFromHeaders(headers);
      if (secret === undefined) return;
      const hash = hashKey(secret);
      const keyId = this.keyIds.get(hash);
      if (keyId !== undefined) this.remove(keyId, hash);
    }
  }

  /** Gives the other plans their slots back, writes what is queued and stops resyncing (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.releaseTimer);
    if (this.settings.reserve && this.enterpriseSeenAt > 0) {
      this.enterpriseSeenAt = 0;
      this.sendMaxconn(this.settings.reserve);
    }
    this.flush();
    await this.writing;
  }

  private enterpriseServed(reserve: EdgeReserve): void {
    const first = this.enterpriseSeenAt === 0;
    this.enterpriseSeenAt = Date.now();
    if (first) this.sendMaxconn(reserve);
  }

  private releaseIfIdle(reserve: EdgeReserve): void {
    if (this.enterpriseSeenAt === 0 || Date.now() - this.enterpriseSeenAt < reserve.idleMs) return;
    this.enterpriseSeenAt = 0;
    this.sendMaxconn(reserve);
  }

  /** The other plans' share of this process's slots at the edge, as the reservation stands now. */
  private sendMaxconn(reserve: EdgeReserve): void {
    this.send(`set maxconn server ${reserve.server} ${reserve.maxconn - this.reservedSlots}`);
  }

  private remove(keyId: string, hash: string): void {
    this.known.delete(keyId);
    this.keyIds.delete(hash);
    this.send(`del map ${this.settings.map} ${hash}`);
  }

  /** `add map` adds a second entry for a key already there: the old one goes first. */
  private set(hash: string, priorityClass: number): void {
    this.send(`del map ${this.settings.map} ${hash}`, `add map ${this.settings.map} ${hash} ${priorityClass}`);
  }

  private resync(): void {
    for (const { hash, priorityClass } of this.known.values()) this.set(hash, priorityClass);
    if (this.settings.reserve) this.sendMaxconn(this.settings.reserve);
  }

  private send(...commands: string[]): void {
    this.commands.push(...commands);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.commands.length === 0) return;
    const script = `${this.commands.join(';')}\n`;
    this.commands = [];
    // One write at a time, in order: a removal never overtakes the addition before it.
    this.writing = this.writing.then(() =>
      runtimeCommand(this.settings.runtimeApi, script).then(
        (answer) => {
          // The runtime API answers each command with nothing, or with why not; removing a key the
          // map does not hold is not a problem.
          const refusals = [
            ...new Set(
              answer
                .split('\n')
                .map((line) => line.trim())
                .filter((line) => line && line !== 'Key not found.'),
            ),
          ];
          if (refusals.length)
            this.logger.warn(
              { edge: this.settings.runtimeApi, map: this.settings.map, answer: refusals.slice(0, 3) },
              'the edge refused an update: is EDGE_PRIORITY_MAP the path of a map its configuration loads (and EDGE_SERVER one of its servers)?',
            );
        },
        (error: Error) =>
          this.logger.warn({ err: error, edge: this.settings.runtimeApi }, 'could not update the edge priority map; it is sent again at the next resync'),
      ),
    );
  }
}

/** Sends a script to HAProxy's runtime API and resolves with its answer once it closes the connection. */
export function runtimeCommand(address: string, script: string, timeoutMs = 2_000): Promise<string> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`the edge's runtime API did not answer within ${timeoutMs} ms`)));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', (failed) => (failed ? undefined : resolve(Buffer.concat(chunks).toString('utf8'))));
    // Not end(): HAProxy answers a non-interactive script and then closes the connection itself.
    socket.write(script);
  });
}
