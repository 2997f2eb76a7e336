/**
 * One backend on this drone: walks loading → starting → waiting → ready, handles terminate requests,
 * and on exit records `terminated` and releases the backend's tokens and key.
 */
import { toTerminating, type BackendRecord, type SpawnWork, type TerminationKind, type TerminationReason } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import type { DroneTiming } from './config.js';
import type { Executor, ExecutorHooks, ExitInfo, OutputStream, RunningBackend } from './executor.js';
import type { BackendOutputSink } from './output-publisher.js';
import { FAST_PROBE_WINDOW_MS, ProbeNudge, waitUntilReady } from './readiness.js';
import { publishStatus, releaseBackend, writeStatus, type DroneStores, type WriteOutcome } from './cleanup.js';
import type { RetryPolicy } from './retry.js';
import type { StartGate } from './start-gate.js';
import { exitCodeOf, toEnded, toLiveStatus, toLoading, type EndRequest } from './transitions.js';

export type { SpawnWork };

export interface RunnerContext {
  stores: DroneStores;
  drone: string;
  timing: Pick<DroneTiming, 'softTerminateGraceMs' | 'startupTimeoutMs' | 'readinessProbeIntervalMs'>;
  log: Logger;
  /** `undefined` when this drone has no executor for the executable: the backend ends `failed`. */
  executor: Executor | undefined;
  retry?: RetryPolicy;
  /** Called once with the reason the backend ended. */
  onEnded?: (reason: TerminationReason) => void;
  /** Backend output and resource samples for NATS (besides the drone's log). */
  output?: BackendOutputSink;
  /** Bounds the backends coming up at once on this drone (none: no bound). */
  gate?: StartGate;
}

/** How the backend ended, as far as this drone saw it. */
interface Ending {
  exit?: ExitInfo;
  failure?: string;
}

export class BackendRunner {
  readonly id: string;
  /** Resolves once the backend is recorded terminated and released (or that failed for good). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private record: BackendRecord | undefined;
  private running: RunningBackend | undefined;
  private request: EndRequest | null = null;
  /** Aborted on terminate and on exit: stops a pending start or readiness wait. */
  private readonly stop = new AbortController();
  private graceTimer: NodeJS.Timeout | undefined;
  /** Record writes, in order; nothing on the way to ready waits for more than the write it needs. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Their events, in the same order, published behind the writes so they never overtake each other. */
  private events: Promise<unknown> = Promise.resolve();
  /** Backend output while it comes up: probe at once rather than on schedule. */
  private readonly nudge = new ProbeNudge();
  /** Gives back this backend's start slot (idempotent). */
  private leaveGate: () => void = () => undefined;
  private ended = false;
  private readonly log: Logger;
  private readonly output: Record<OutputStream, Logger>;

  constructor(
    private readonly ctx: RunnerContext,
    private readonly work: SpawnWork,
  ) {
    this.id = work.backend_id;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.log = ctx.log.child({ backend_id: this.id });
    this.output = {
      stdout: ctx.log.child({ backend_id: this.id, stream: 'stdout' }),
      stderr: ctx.log.child({ backend_id: this.id, stream: 'stderr' }),
    };
  }

  /** Whether the backend has not started to go away on this drone. */
  get live(): boolean {
    return !this.ended && this.request === null;
  }

  /** The backend record as this runner last wrote or read it (undefined before `accept` / `adopt`). */
  get current(): BackendRecord | undefined {
    return this.record;
  }

  /**
   * Record `loading`: the drone takes the spawn. `declined` when the record is not `scheduled` for this
   * drone (a redelivered spawn), `failed` when NATS could not be reached (with retries); the runner is
   * done then. Never rejects.
   */
  async accept(): Promise<'accepted' | 'declined' | 'failed'> {
    const outcome = await this.enqueue((current) => toLoading(current, this.ctx.drone, Date.now()));
    if (outcome.kind === 'written') return 'accepted';
    if (outcome.kind === 'failed') this.log.error({ err: outcome.error }, 'could not record the spawn');
    this.ended = true;
    this.resolveDone();
    return outcome.kind;
  }

  /** Bring the backend up and follow it until it ends. Call once, after `accept`. Never rejects. */
  run(): Promise<void> {
    return this.runWith(() => this.lifecycle());
  }

  /**
   * Take over a backend an earlier run of this drone left running (its record is live and names this
   * drone): `attach` finds it and returns it, or null when it is gone. Instead of `accept` + `run`;
   * on `true` the runner follows it from the recorded status until it ends.
   */
  async adopt(record: BackendRecord, attach: (hooks: ExecutorHooks) => Promise<RunningBackend | null>): Promise<boolean> {
    this.record = record;
    const backend = await attach(this.hooks());
    if (!backend) return false;
    const { state } = record;
    if (state.status === 'terminating') {
      this.request = { kind: state.termination_kind ?? 'hard', reason: state.termination_reason ?? 'lost' };
    }
    void this.runWith(() => this.follow(backend, state.status === 'ready'));
    return true;
  }

  private async runWith(lifecycle: () => Promise<Ending>): Promise<void> {
    try {
      await this.finish(await lifecycle());
    } catch (err) {
      // A bug, not an outcome: make sure nothing keeps running and the record still ends.
      this.log.error({ err }, 'backend runner failed');
      this.running?.terminate('hard');
      await this.finish({ failure: 'drone error' }).catch(() => undefined);
    }
  }

  /** soft = SIGTERM, then SIGKILL after the grace period; hard = SIGKILL. Soft may be escalated to hard. */
  terminate(kind: TerminationKind, reason: TerminationReason): Promise<void> {
    if (this.ended) return Promise.resolve();
    const previous = this.request;
    if (previous && (previous.kind === 'hard' || kind === 'soft')) return Promise.resolve();
    this.request = previous ? { kind: 'hard', reason: previous.reason } : { kind, reason };
    // Queued before the exit can queue `terminated`, so the record and events stay in order.
    const written = this.enqueue((current) => toTerminating(current.state, kind, reason, Date.now()));
    this.stop.abort();
    this.signal(kind);
    return written.then(() => undefined);
  }

  /** The record ended elsewhere (e.g. the controller declared this drone lost): kill without a new status. */
  abandon(why: string): void {
    if (this.ended || this.request?.kind === 'hard') return;
    this.log.warn({ why }, 'backend record ended elsewhere; killing the backend');
    this.request = { kind: 'hard', reason: 'lost' };
    this.stop.abort();
    this.signal('hard');
  }

  /** Check that the record still says the backend is alive; it may have been ended by someone else. */
  async verifyRecord(): Promise<void> {
    if (!this.live) return;
    const current = await this.ctx.stores.backends.get(this.id);
    if (this.live && (!current || current.value.state.status === 'terminated')) this.abandon('record terminated');
  }

  private async lifecycle(): Promise<Ending> {
    const executor = this.ctx.executor;
    if (!executor) return { failure: 'this drone has no executor for this executable' };
    const leave = this.ctx.gate ? await this.ctx.gate.enter(this.stop.signal) : () => undefined;
    if (!leave) return {}; // terminated while waiting for a start slot: it never ran
    // The slot covers the costly part of coming up (the start, the first second of fast probing); a
    // backend slower than that, or a long image pull, must not hold up the ones behind it.
    const timer = setTimeout(leave, FAST_PROBE_WINDOW_MS);
    timer.unref();
    this.leaveGate = () => {
      clearTimeout(timer);
      leave();
    };
    const result = await executor.start(
      { backendId: this.id, executable: this.work.executable, env: this.sessionEnv(), signal: this.stop.signal },
      this.hooks(),
    );
    if (!result.ok) return result.error.kind === 'failed' ? { failure: result.error.message } : {};
    return this.follow(result.backend, false);
  }

  private hooks(): ExecutorHooks {
    const sink = this.ctx.output;
    return {
      // Queued, not awaited: the backend starts while its status is stored (writes stay in order).
      onPhase: (status) => void this.step(status),
      onOutput: (stream, line) => {
        this.nudge.fire();
        this.output[stream].info({ line }, 'backend output');
        sink?.line(this.id, stream, line);
      },
      ...(sink ? { onStats: (sample) => sink.stats(this.id, sample) } : {}),
    };
  }

  /** From a started backend to its end: waiting → ready (unless it is already ready), then the exit. */
  private async follow(backend: RunningBackend, alreadyReady: boolean): Promise<Ending> {
    this.running = backend;
    void backend.exited.then(() => this.stop.abort());
    if (this.request) {
      // Terminated while it was being started (Plane quirk Q7): it must still end.
      this.signal(this.request.kind);
    } else if (!alreadyReady) {
      const { address } = backend;
      // Probing starts while `waiting` is being stored; `ready` is queued behind it.
      void this.step('waiting', address);
      const readiness = await waitUntilReady({
        address,
        intervalMs: this.ctx.timing.readinessProbeIntervalMs,
        timeoutMs: this.ctx.timing.startupTimeoutMs,
        signal: this.stop.signal,
        nudge: this.nudge,
      });
      this.leaveGate();
      if (readiness === 'ready') {
        await this.step('ready', address);
      } else if (readiness === 'timeout') {
        this.log.warn({ timeout_ms: this.ctx.timing.startupTimeoutMs }, 'backend did not become ready in time');
        void this.terminate('hard', 'startuptimeout');
      }
    }
    return { exit: await backend.exited };
  }

  /** One step while coming up (stored in order behind earlier writes). */
  private async step(status: 'starting' | 'waiting' | 'ready', address?: string): Promise<void> {
    await this.advance(await this.enqueue((c) => toLiveStatus(c.state, status, Date.now(), address)));
  }

  /** A declined step while coming up means the record moved on without us: find out whether it ended. */
  private async advance(outcome: WriteOutcome): Promise<void> {
    if (outcome.kind !== 'declined' || !this.live) return;
    const current = await this.ctx.stores.backends.get(this.id).catch(() => undefined);
    if (current === undefined) return;
    if (!current || !['scheduled', 'loading', 'starting', 'waiting', 'ready'].includes(current.value.state.status)) {
      this.abandon(`record is ${current?.value.state.status ?? 'gone'}`);
    }
  }

  private signal(kind: TerminationKind): void {
    const backend = this.running;
    if (!backend) return; // not started yet: the pending start sees the aborted signal
    backend.terminate(kind);
    if (kind === 'hard') {
      clearTimeout(this.graceTimer);
    } else if (!this.graceTimer) {
      this.graceTimer = setTimeout(() => backend.terminate('hard'), this.ctx.timing.softTerminateGraceMs);
      this.graceTimer.unref();
    }
  }

  private async finish(ending: Ending): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.leaveGate();
    clearTimeout(this.graceTimer);
    const exitCode = ending.exit ? exitCodeOf(ending.exit) : null;
    const fallbackReason: TerminationReason = ending.failure !== undefined ? 'failed' : 'exit';
    if (ending.failure !== undefined) this.log.warn({ message: ending.failure }, 'backend could not be started');
    // Its last lines are in JetStream before `terminated` is, so reading the logs then finds them.
    this.ctx.output?.ended(this.id);
    await this.ctx.output?.flush();
    const outcome = await this.enqueue((current) =>
      toEnded(current.state, Date.now(), {
        exitCode,
        request: this.request,
        fallbackReason,
        ...(ending.failure !== undefined ? { message: ending.failure } : {}),
      }),
    );
    const record = outcome.kind === 'written' ? outcome.record : this.record;
    this.ctx.onEnded?.(
      (outcome.kind === 'written' ? outcome.record.state.termination_reason : undefined) ?? this.request?.reason ?? fallbackReason,
    );
    // `terminated` is announced before the tokens are revoked, as it is stored before.
    await this.events;
    if (record) await releaseBackend(this.ctx.stores, record, { log: this.log, ...this.retryOpt() });
    this.resolveDone();
  }

  /** Store a status change after the earlier ones; resolves once it is stored, before its event is out. */
  private enqueue(next: Parameters<typeof writeStatus>[2]): Promise<WriteOutcome> {
    const io = { log: this.log, ...this.retryOpt() };
    const result = this.writes.then(() => writeStatus(this.ctx.stores, this.id, next, io));
    this.writes = result;
    return result.then((outcome) => {
      if (outcome.kind === 'written') {
        this.record = outcome.record;
        this.events = this.events.then(() => publishStatus(this.ctx.stores, outcome.record, io));
      }
      return outcome;
    });
  }

  private retryOpt(): { retry?: RetryPolicy } {
    return this.ctx.retry ? { retry: this.ctx.retry } : {};
  }

  private sessionEnv(): Record<string, string> {
    const env: Record<string, string> = {
      SESSION_BACKEND_ID: this.id,
      SESSION_BACKEND_KEY: this.work.key.name,
      SESSION_BACKEND_FENCING_TOKEN: String(this.work.fencing_token),
    };
    if (this.work.static_token) env.SESSION_BACKEND_STATIC_TOKEN = this.work.static_token;
    return env;
  }
}
