/**
 * Coalesced resource stats: executors report samples as often as they get them (Docker: every
 * second); each backend's latest sample is published at most once per interval, so NATS traffic
 * stays flat however many samples arrive.
 */
import type { BackendStats } from '@jetplane/protocol';
import type { ResourceSample } from './executor.js';

export interface StatsPublisherOptions {
  intervalMs: number;
  publish(stats: BackendStats): void;
}

export class StatsPublisher {
  /** Latest sample per backend not published yet. */
  private readonly pending = new Map<string, ResourceSample>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: StatsPublisherOptions) {
    this.timer = setInterval(() => this.publishPending(), opts.intervalMs);
    this.timer.unref();
  }

  record(backendId: string, sample: ResourceSample): void {
    this.pending.set(backendId, sample);
  }

  /** The backend ended: a sample still pending would describe a backend that is gone. */
  forget(backendId: string): void {
    this.pending.delete(backendId);
  }

  /** Publish every pending sample now (also what the timer does). */
  publishPending(): void {
    for (const [backendId, s] of this.pending) {
      this.opts.publish({
        backend_id: backendId,
        cpu_percent: s.cpuPercent,
        memory_bytes: s.memoryBytes,
        memory_limit_bytes: s.memoryLimitBytes,
        time: s.time,
      });
    }
    this.pending.clear();
  }

  stop(): void {
    clearInterval(this.timer);
    this.pending.clear();
  }
}
