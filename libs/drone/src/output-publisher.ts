/**
 * Where backend output and resource samples go besides the drone's own log: `jetplane.logs.<id>` and
 * `jetplane.stats.<id>` (JetStream keeps them, the controller serves them). Publishing never blocks a
 * backend: lines are plain NATS publishes, and a backend writing faster than `maxLinesPerSecond` has
 * the excess dropped (and counted in one marker line) rather than flooding NATS.
 */
import type { BackendLogLine, BackendStats } from '@jetplane/protocol';
import type { OutputStream, ResourceSample } from './executor.js';
import { StatsPublisher } from './stats.js';

/** What a backend runner reports to; `undefined` in the runner means "drone log only". */
export interface BackendOutputSink {
  line(backendId: string, stream: OutputStream, line: string): void;
  stats(backendId: string, sample: ResourceSample): void;
  /** Resolves once every line so far has reached NATS (bounded; never rejects). */
  flush(): Promise<void>;
  /** The backend has ended: drop its per-backend state. */
  ended(backendId: string): void;
  close(): void;
}

export interface OutputPublisherOptions {
  publishLine(line: BackendLogLine): void;
  publishStats(stats: BackendStats): void;
  /** Round trip to NATS, so published lines are known to be there. */
  flush(): Promise<void>;
  flushTimeoutMs: number;
  statsIntervalMs: number;
  /** Per backend (default 1000). */
  maxLinesPerSecond?: number;
  now?: () => number;
}

interface RateWindow {
  start: number;
  count: number;
  dropped: number;
}

export const DEFAULT_MAX_LINES_PER_SECOND = 1_000;

export function createOutputPublisher(opts: OutputPublisherOptions): BackendOutputSink {
  const now = opts.now ?? Date.now;
  const max = opts.maxLinesPerSecond ?? DEFAULT_MAX_LINES_PER_SECOND;
  const windows = new Map<string, RateWindow>();
  // A publish on a closed connection throws; output arriving during shutdown must not crash the drone.
  const publishLine = (line: BackendLogLine): void => {
    try {
      opts.publishLine(line);
    } catch {
      // dropped: logs are best effort
    }
  };
  const stats = new StatsPublisher({
    intervalMs: opts.statsIntervalMs,
    publish: (s) => {
      try {
        opts.publishStats(s);
      } catch {
        // dropped: the next sample replaces it
      }
    },
  });

  const reportDropped = (backendId: string, w: RateWindow, time: number): void => {
    if (w.dropped === 0) return;
    publishLine({
      backend_id: backendId,
      stream: 'stderr',
      line: `[jetplane] ${w.dropped} output lines dropped (more than ${max} lines/s)`,
      time,
    });
    w.dropped = 0;
  };

  return {
    line(backendId, stream, line) {
      const time = now();
      let w = windows.get(backendId);
      if (!w) windows.set(backendId, (w = { start: time, count: 0, dropped: 0 }));
      if (time - w.start >= 1_000) {
        reportDropped(backendId, w, time);
        w.start = time;
        w.count = 0;
      }
      if (++w.count > max) {
        w.dropped++;
        return;
      }
      publishLine({ backend_id: backendId, stream, line, time });
    },
    stats: (backendId, sample) => stats.record(backendId, sample),
    async flush() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        opts.flush().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.flushTimeoutMs))),
      ]);
      clearTimeout(timer);
    },
    ended(backendId) {
      const w = windows.get(backendId);
      if (w) reportDropped(backendId, w, now());
      windows.delete(backendId);
      stats.forget(backendId);
    },
    close: () => stats.stop(),
  };
}
