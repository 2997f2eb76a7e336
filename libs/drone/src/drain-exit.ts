/**
 * `--exit-when-drained`: once the drone has been drained (the controller set `draining`) and runs no
 * backend any more, stop it cleanly. Checked on a timer; calls `onDrained` once.
 */
import type { DroneState } from '@jetplane/protocol';

export interface DrainExitOptions {
  /** The drone's state as of its last heartbeat. */
  state(): DroneState;
  /** Backends it still runs. */
  running(): number;
  intervalMs: number;
  onDrained(): void;
}

export function watchDrained(opts: DrainExitOptions): { stop(): void } {
  let fired = false;
  const timer = setInterval(() => {
    if (fired || opts.state() !== 'draining' || opts.running() > 0) return;
    fired = true;
    clearInterval(timer);
    opts.onDrained();
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
