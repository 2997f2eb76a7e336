/**
 * One backend's key lease, kept by its drone (Plane's key loop, on JetStream KV).
 *
 * Every deadline is measured on this drone's monotonic clock from the moment it SENT the last
 * renewal that succeeded (before the first one succeeds: from when the spawn was received):
 * renew at +renew, soft-terminate (`keyexpired`) at +soft, hard-terminate at +hard. Controllers date the
 * same renewal by when THEY saw it, which is later, and treat the key as expired only at +expiration
 * (> hard) on their own clock: with clocks running at the same rate the backend is gone before anyone
 * may take its key, and no two clocks are ever compared.
 *
 * A renewal that finds the key deleted or held by another backend hard-terminates at once. A renewal
 * that fails (NATS unreachable) is retried every `keyRenewRetryMs` until the soft deadline; after the
 * soft terminate the lease is not renewed any more (the backend is going away), and the hard deadline
 * still applies.
 */
import type { Logger } from '@jetplane/observability';
import type { TerminationKind } from '@jetplane/protocol';

export interface LeaseTiming {
  keyRenewAfterMs: number;
  keySoftTerminateAfterMs: number;
  keyHardTerminateAfterMs: number;
  keyRenewRetryMs: number;
}

export type RenewOutcome = { ok: true } | { ok: false; reason: 'gone' | 'taken' };

export interface KeyLeaseDeps {
  /** One revision-checked renewal; rejects when NATS cannot be reached. */
  renew(): Promise<RenewOutcome>;
  /** Terminate the backend with reason `keyexpired` (soft may later be escalated to hard). */
  expire(kind: TerminationKind, why: string): void;
  timing: LeaseTiming;
  log: Logger;
  /** Monotonic ms (default `performance.now`). */
  now?: () => number;
}

export interface LeaseDeadlines {
  /** When the last successful renewal was sent (or the spawn received), monotonic ms. */
  base: number;
  renewed: boolean;
  renewAt: number;
  softAt: number;
  hardAt: number;
}

export class KeyLease {
  private base: number;
  private renewed = false;
  private softDone = false;
  private hardDone = false;
  private stopped = false;
  private inFlight = false;
  /** Earliest time the next renewal attempt may start (a failure pushes it by the retry interval). */
  private nextAttemptAt: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly deps: KeyLeaseDeps,
    startedAt?: number,
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.base = startedAt ?? this.now();
    this.nextAttemptAt = this.base; // renew right away: the controller dated the key when it was created
  }

  /** Start the loop (the first renewal is attempted at once). */
  start(): void {
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  deadlines(): LeaseDeadlines {
    const t = this.deps.timing;
    return {
      base: this.base,
      renewed: this.renewed,
      renewAt: this.base + t.keyRenewAfterMs,
      softAt: this.base + t.keySoftTerminateAfterMs,
      hardAt: this.base + t.keyHardTerminateAfterMs,
    };
  }

  /** Check the deadlines, maybe start a renewal, and sleep until the next thing to do. */
  private wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = this.now();
    const d = this.deadlines();
    if (now >= d.hardAt) {
      this.hard(`not renewed within ${this.deps.timing.keyHardTerminateAfterMs} ms`);
      return;
    }
    if (now >= d.softAt && !this.softDone) {
      this.softDone = true;
      this.deps.log.warn({ since_renewal_ms: Math.round(now - d.base) }, 'key lease not renewed in time: soft-terminating the backend');
      this.deps.expire('soft', 'lease soft deadline');
    }
    if (!this.softDone && !this.inFlight && now >= this.nextAttemptAt) this.attempt();
    const candidates = [d.hardAt];
    if (!this.softDone) {
      candidates.push(d.softAt);
      if (!this.inFlight) candidates.push(this.nextAttemptAt);
    }
    const next = Math.min(...candidates);
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.ceil(next - this.now())));
    this.timer.unref();
  }

  private attempt(): void {
    this.inFlight = true;
    const sentAt = this.now();
    this.deps.renew().then(
      (outcome) => {
        this.inFlight = false;
        if (this.stopped) return;
        if (!outcome.ok) {
          this.hard(outcome.reason === 'gone' ? 'the key is no longer held' : 'the key is held by another backend');
          return;
        }
        this.base = Math.max(this.base, sentAt);
        this.renewed = true;
        this.nextAttemptAt = this.base + this.deps.timing.keyRenewAfterMs;
        this.wake();
      },
      (err: unknown) => {
        this.inFlight = false;
        if (this.stopped) return;
        this.deps.log.warn({ err }, 'key lease renewal failed; retrying');
        this.nextAttemptAt = this.now() + this.deps.timing.keyRenewRetryMs;
        this.wake();
      },
    );
  }

  private hard(why: string): void {
    if (this.hardDone) return;
    this.hardDone = true;
    this.softDone = true;
    this.stop();
    this.deps.log.warn({ why }, 'key lease lost: hard-terminating the backend');
    this.deps.expire('hard', why);
  }
}
