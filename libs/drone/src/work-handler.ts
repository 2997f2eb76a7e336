/** What the drone does with each message of its work queue (spawn / terminate). */
import type { DroneWork } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import type { BackendRunner, SpawnWork } from './backend-runner.js';
import type { DroneStores } from './cleanup.js';
import { endUnknownBackend } from './lost.js';
import type { RetryPolicy } from './retry.js';

export interface WorkContext {
  drone: string;
  stores: DroneStores;
  log: Logger;
  retry?: RetryPolicy;
  runner(backendId: string): BackendRunner | undefined;
  createRunner(work: SpawnWork): BackendRunner;
  /** Keep a runner from the moment its spawn is received (later work finds it); forget it when done. */
  hold(runner: BackendRunner): void;
  /** Start following an accepted runner (key lease, limits, metrics). */
  track(runner: BackendRunner): void;
  /** A backend recorded terminated without a runner (metrics). */
  ended?(reason: 'lost'): void;
}

/** Thrown so the work queue redelivers the message later. */
export class WorkRetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkRetryError';
  }
}

/**
 * Work arrives at least once, so every branch is idempotent. The handler's return acks the work; a
 * throw leaves it for redelivery. A spawn is taken at once and accepted (`loading`) in the background:
 * work is handled one message at a time, and a burst waiting there behind one status write per
 * spawn would outlive its keys' leases, which nobody renews before the drone has the spawn. Should the
 * `loading` write fail for good, the record stays `scheduled` and the controller ends it when the key's
 * lease runs out.
 */
export function workHandler(ctx: WorkContext): (work: DroneWork) => Promise<void> {
  const io = { log: ctx.log, ...(ctx.retry ? { retry: ctx.retry } : {}) };
  return async (work) => {
    if (work.type === 'spawn') {
      if (ctx.runner(work.backend_id)) {
        ctx.log.debug({ backend_id: work.backend_id }, 'duplicate spawn ignored');
        return;
      }
      const runner = ctx.createRunner(work);
      ctx.hold(runner);
      void admit(ctx, runner);
      return;
    }
    if (work.type === 'terminate') {
      const runner = ctx.runner(work.backend_id);
      if (runner) {
        ctx.log.info({ backend_id: work.backend_id, kind: work.kind, reason: work.reason }, 'terminating backend');
        await runner.terminate(work.kind, work.reason);
        return;
      }
      const result = await endUnknownBackend(ctx.stores, ctx.drone, work.backend_id, io);
      if (result === 'failed') throw new WorkRetryError(`could not record backend ${work.backend_id} lost`);
      if (result === 'ended') {
        ctx.ended?.('lost');
        ctx.log.info({ backend_id: work.backend_id }, 'terminate for a backend not running here: recorded lost');
      }
      return;
    }
    ctx.log.warn({ type: (work as { type?: unknown }).type }, 'unknown work ignored');
  };
}

async function admit(ctx: WorkContext, runner: BackendRunner): Promise<void> {
  const accepted = await runner.accept();
  if (accepted === 'declined') ctx.log.info({ backend_id: runner.id }, 'spawn ignored: backend is not scheduled on this drone');
  if (accepted !== 'accepted') return;
  ctx.track(runner);
  void runner.run();
}
