/**
 * The latest resource sample of each backend, fed by `JETPLANE_STATS`, for the status, the listings
 * and the metrics. Samples of backends that stopped reporting are dropped after a while.
 */
import type { BackendStats, BackendUsage } from '@jetplane/protocol';
import { followBackendStats, type JetPlane } from '@jetplane/nats';

/** Drones publish every 5 s; a sample much older than that describes a backend that is gone. */
export const STATS_STALE_AFTER_MS = 60_000;

interface Received {
  stats: BackendStats;
  /** Our clock: staleness must not depend on the drone's clock being right. */
  at: number;
}

export class StatsView {
  private readonly latest = new Map<string, Received>();

  constructor(private readonly staleAfterMs = STATS_STALE_AFTER_MS) {}

  put(stats: BackendStats, now = Date.now()): void {
    if (typeof stats?.backend_id !== 'string') return;
    const current = this.latest.get(stats.backend_id);
    if (!current || stats.time >= current.stats.time) this.latest.set(stats.backend_id, { stats, at: now });
  }

  /** The usage of a backend (without its id), if a recent sample exists. */
  get(backendId: string, now = Date.now()): BackendUsage | undefined {
    const r = this.latest.get(backendId);
    if (!r || now - r.at > this.staleAfterMs) return undefined;
    const s = r.stats;
    const usage: BackendUsage = { cpu_percent: s.cpu_percent, memory_bytes: s.memory_bytes, time: s.time };
    if (s.memory_limit_bytes != null) usage.memory_limit_bytes = s.memory_limit_bytes;
    return usage;
  }

  /** Every backend with a recent sample. */
  ids(now = Date.now()): string[] {
    return [...this.latest.values()].filter((r) => now - r.at <= this.staleAfterMs).map((r) => r.stats.backend_id);
  }

  prune(now = Date.now()): void {
    for (const [id, r] of this.latest) if (now - r.at > this.staleAfterMs) this.latest.delete(id);
  }
}

/** Fill `view` from the stored samples and every new one; prunes stale samples every minute. */
export async function followStats(jp: Pick<JetPlane, 'streams'>, view: StatsView): Promise<{ stop(): void }> {
  const follow = await followBackendStats(jp.streams.js, (stats) => view.put(stats));
  const timer = setInterval(() => view.prune(), 60_000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      follow.stop();
    },
  };
}
