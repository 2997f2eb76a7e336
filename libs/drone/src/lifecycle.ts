/**
 * The drone's side of the lifecycle guarantees, all on this drone's monotonic clock:
 * - one key lease per backend it runs (see `lease.ts`);
 * - `lifetime_limit_seconds`: soft terminate (`lifetime`) once that long has passed since the spawn was
 *   received, open connections or not;
 * - `max_idle_seconds`: soft terminate (`swept`) once the backend has had no open proxied connection and no
 *   request for that long since it became ready (activity comes from the proxies' coalesced reports on
 *   `jetplane.activity.<drone>`, dated at receipt);
 * - answers `jetplane.drone.<name>.inspect`: why a backend is still alive.
 */
import { Subjects, type ActivityReport, type BackendRecord, type DroneLivenessReply, type LivenessRequest, type TerminationKind, type TerminationReason } from '@jetplane/protocol';
import { decodeJson, encodeJson, type KeyStore, type NatsConnection } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { ActivityLedger } from './activity.js';
import { KeyLease, type LeaseTiming } from './lease.js';

/** What the supervisor needs of a backend runner (a narrow view, so tests can fake it). */
export interface SupervisedRunner {
  readonly id: string;
  /** Not terminating and not ended. */
  readonly live: boolean;
  readonly done: Promise<void>;
  readonly current: BackendRecord | undefined;
  terminate(kind: TerminationKind, reason: TerminationReason): Promise<void>;
}

export interface LifecycleTiming extends LeaseTiming {
  /** Idle and lifetime checks run this often. */
  sweepIntervalMs: number;
}

export interface LifecycleOptions {
  drone: string;
  keys: Pick<KeyStore, 'renew'>;
  timing: LifecycleTiming;
  log: Logger;
  /** Whether the drone is connected to NATS right now (idle time does not run while it is not). */
  isConnected(): boolean;
  /** Monotonic ms (default `performance.now`). */
  now?: () => number;
}

interface Entry {
  runner: SupervisedRunner;
  lease: KeyLease | undefined;
  /** When the spawn was received (or the backend adopted). */
  receivedAt: number;
  /** When it was first seen ready. */
  readyAt: number | undefined;
  maxIdleMs: number | null;
  lifetimeMs: number | null;
}

const seconds = (value: number | null | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value * 1000 : null;

export class LifecycleSupervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly ledger: ActivityLedger;
  private readonly now: () => number;
  /** After a NATS outage, activity reports were lost: idle time restarts from the reconnection. */
  private reconnectedAt: number;
  private connected = true;
  private timer: NodeJS.Timeout | undefined;
  private subs: Array<{ unsubscribe(): void }> = [];
  private stopped = false;
  /** The drone could not store a heartbeat in time and killed its backends: it must not run new ones. */
  private fenced = false;

  constructor(private readonly opts: LifecycleOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.ledger = new ActivityLedger(this.now);
    this.reconnectedAt = this.now();
  }

  /** Subscribe to activity reports and inspections, and start the sweep. */
  start(nc?: NatsConnection): void {
    if (nc) {
      this.subs.push(
        nc.subscribe(Subjects.activity(this.opts.drone), {
          callback: (err, msg) => {
            if (err) return;
            try {
              this.ledger.record(decodeJson<ActivityReport>(msg.data));
            } catch {
              // A malformed report is ignored.
            }
          },
        }),
        nc.subscribe(Subjects.droneInspect(this.opts.drone), {
          callback: (err, msg) => {
            if (err || !msg.reply) return;
            let reply: DroneLivenessReply = { running: false };
            try {
              const req = decodeJson<LivenessRequest>(msg.data);
              if (typeof req?.backend_id === 'string') reply = this.inspect(req.backend_id);
            } catch {
              // Answer "not running" to garbage.
            }
            msg.respond(encodeJson(reply));
          },
        }),
      );
    }
    this.timer = setInterval(() => this.sweep(), this.opts.timing.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    for (const entry of this.entries.values()) entry.lease?.stop();
    this.entries.clear();
  }

  /**
   * While fenced (see the heartbeat), a backend taken meanwhile is killed at once: controllers are about
   * to declare this drone lost and give its keys away.
   */
  setFenced(fenced: boolean): void {
    this.fenced = fenced;
  }

  /** Follow a backend this drone took (accepted or adopted), from now until its runner is done. */
  watch(runner: SupervisedRunner): void {
    if (this.stopped || this.entries.has(runner.id)) return;
    if (this.fenced) {
      this.opts.log.warn({ backend_id: runner.id }, 'drone is fenced (no heartbeat stored): killing a backend taken meanwhile');
      void runner.terminate('hard', 'lost');
    }
    const record = runner.current;
    const now = this.now();
    const log = this.opts.log.child({ backend_id: runner.id });
    const entry: Entry = {
      runner,
      lease: undefined,
      receivedAt: now,
      readyAt: record?.state.status === 'ready' ? now : undefined,
      maxIdleMs: seconds(record?.max_idle_seconds),
      lifetimeMs: seconds(record?.lifetime_limit_seconds),
    };
    if (record) {
      const { namespace, name } = record.key;
      entry.lease = new KeyLease(
        {
          renew: () => this.opts.keys.renew(namespace, name, runner.id),
          expire: (kind) => void runner.terminate(kind, 'keyexpired'),
          timing: this.opts.timing,
          log,
          now: this.now,
        },
        now,
      );
      entry.lease.start();
    } else {
      log.error('backend followed without its record: no key lease');
    }
    this.ledger.track(runner.id);
    this.entries.set(runner.id, entry);
    void runner.done.then(() => this.unwatch(runner.id));
  }

  /** Backends followed right now. */
  get size(): number {
    return this.entries.size;
  }

  /** One pass of the lifetime and idle rules (also run by the timer). */
  sweep(): void {
    const now = this.now();
    const connected = this.opts.isConnected();
    if (!connected) this.connected = false;
    else if (!this.connected) {
      this.connected = true;
      this.reconnectedAt = now;
    }
    for (const entry of this.entries.values()) {
      const { runner } = entry;
      this.observeReady(entry, now);
      if (!runner.live) continue;
      if (entry.lifetimeMs !== null && now - entry.receivedAt >= entry.lifetimeMs) {
        this.opts.log.info({ backend_id: runner.id, lifetime_ms: entry.lifetimeMs }, 'lifetime limit reached: soft-terminating');
        void runner.terminate('soft', 'lifetime');
        continue;
      }
      if (entry.maxIdleMs === null || entry.readyAt === undefined || !connected) continue;
      if (this.ledger.connections(runner.id, now) > 0) continue;
      const idleFor = now - this.idleSince(entry);
      if (idleFor >= entry.maxIdleMs) {
        this.opts.log.info({ backend_id: runner.id, idle_ms: Math.round(idleFor), max_idle_ms: entry.maxIdleMs }, 'idle limit reached: soft-terminating');
        void runner.terminate('soft', 'swept');
      }
    }
  }

  /** Why a backend is still alive, as this drone sees it. */
  inspect(backendId: string): DroneLivenessReply {
    const entry = this.entries.get(backendId);
    if (!entry) return { running: false };
    const now = this.now();
    this.observeReady(entry, now);
    const open = this.ledger.connections(backendId, now);
    const lastActive = this.ledger.lastActiveAt(backendId);
    const lease = entry.lease?.deadlines();
    const ms = (n: number): number => Math.max(0, Math.round(n));
    return {
      running: true,
      open_connections: open,
      last_activity_ms_ago: lastActive === undefined ? null : ms(now - lastActive),
      idle_deadline_in_ms:
        entry.maxIdleMs !== null && open === 0 && entry.readyAt !== undefined && entry.runner.live
          ? ms(this.idleSince(entry) + entry.maxIdleMs - now)
          : null,
      lifetime_deadline_in_ms: entry.lifetimeMs !== null && entry.runner.live ? ms(entry.receivedAt + entry.lifetimeMs - now) : null,
      lease_renewed_ms_ago: lease?.renewed ? ms(now - lease.base) : null,
      lease_soft_deadline_in_ms: lease ? ms(lease.softAt - now) : null,
    };
  }

  /** The first time the runner is seen ready (at most one sweep late) starts its idle clock. */
  private observeReady(entry: Entry, now: number): void {
    if (entry.readyAt === undefined && entry.runner.current?.state.status === 'ready') entry.readyAt = now;
  }

  private idleSince(entry: Entry): number {
    const lastActive = this.ledger.lastActiveAt(entry.runner.id) ?? Number.NEGATIVE_INFINITY;
    return Math.max(lastActive, entry.readyAt ?? entry.receivedAt, this.reconnectedAt);
  }

  private unwatch(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.lease?.stop();
    this.ledger.forget(id);
    this.entries.delete(id);
  }
}
