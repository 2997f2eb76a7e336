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
  /** Start following an accepted runner (count it, forget it when done). */
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
 * Work arrives at least once, so every branch is idempotent. The handler returns once the work is
 * applied (a spawn: accepted, not ready), which acks it; a throw leaves it for redelivery.
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
      if ((await runner.accept()) === 'declined') {
        ctx.log.info({ backend_id: work.backend_id }, 'spawn ignored: backend is not scheduled on this drone');
        return;
      }
      ctx.track(runner);
      void runner.run();
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
