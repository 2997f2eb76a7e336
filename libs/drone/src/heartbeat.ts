/** Periodic heartbeat, record checks of running backends, and self-fencing when NATS is out of reach. */
import type { Logger } from '@jetplane/observability';
import type { BackendRunner } from './backend-runner.js';
import type { DroneRegistration } from './registration.js';

export interface HeartbeatOptions {
  registration: DroneRegistration;
  intervalMs: number;
  /** See `DroneTiming.selfFenceAfterMs`. */
  selfFenceAfterMs: number | null;
  runners(): Iterable<BackendRunner>;
  log: Logger;
  /** Told when the drone fences itself (true) and when a heartbeat is stored again (false). */
  onFenced?(fenced: boolean): void;
}

export function startHeartbeat(opts: HeartbeatOptions): { stop(): void } {
  const { log } = opts;
  let inFlight = false;
  let fenced = false;

  // Past this point the controller may have declared the drone lost and handed its backends' keys to
  // new backends elsewhere; two live backends for one key must never happen, so ours go.
  const fence = (): void => {
    fenced = true;
    opts.onFenced?.(true);
    log.error({ since_ms: Date.now() - opts.registration.lastHeartbeatAt }, 'no heartbeat stored for too long: terminating all backends');
    for (const runner of opts.runners()) void runner.terminate('hard', 'lost');
  };
  // Measured from when the last successful heartbeat was SENT (controllers date it when they see it,
  // which is later), on this process's monotonic clock.
  let fenceTimer: NodeJS.Timeout | undefined;
  const armFence = (sentAt: number): void => {
    if (opts.selfFenceAfterMs === null) return;
    clearTimeout(fenceTimer);
    fenceTimer = setTimeout(fence, Math.max(0, sentAt + opts.selfFenceAfterMs - performance.now()));
    fenceTimer.unref();
  };
  armFence(performance.now());

  const tick = async (): Promise<void> => {
    if (inFlight) return;
    inFlight = true;
    const sentAt = performance.now();
    try {
      await opts.registration.beat();
      armFence(sentAt);
      if (fenced) {
        fenced = false;
        opts.onFenced?.(false);
        log.info('heartbeat restored');
      }
      // The controller may have ended a backend of ours (e.g. lost-drone handling after a partition).
      await Promise.all([...opts.runners()].map((r) => r.verifyRecord().catch(() => undefined)));
    } catch (err) {
      log.warn({ err }, 'heartbeat failed');
    } finally {
      inFlight = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      clearTimeout(fenceTimer);
    },
  };
}
