/**
 * What the proxies reported about the backends this drone runs, dated by this drone's monotonic
 * clock at receipt (a proxy's clock is never read). Per backend: the last time any proxy reported a
 * request or an open connection, and the open connections summed over proxies, where a proxy's count
 * for a backend is forgotten once it has not been repeated for three of that proxy's report intervals
 * (a proxy that died, or a lost "now 0" report).
 */
import type { ActivityReport } from '@jetplane/protocol';

/** A proxy's count is dropped after this many of its report intervals without a new one. */
export const FORGET_AFTER_INTERVALS = 3;
/** Bounds on a reported interval, so a broken proxy cannot pin counts forever or drop them at once. */
const MIN_INTERVAL_MS = 50;
const MAX_INTERVAL_MS = 10 * 60_000;

interface ProxyCount {
  connections: number;
  /** Receipt time of the report that set it. */
  at: number;
  /** Forgotten after `at + forgetAfterMs`. */
  forgetAfterMs: number;
}

interface BackendActivityState {
  lastActiveAt: number | undefined;
  byProxy: Map<string, ProxyCount>;
}

export class ActivityLedger {
  private readonly backends = new Map<string, BackendActivityState>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Follow this backend's activity (reports for backends not tracked are ignored). */
  track(backendId: string): void {
    if (!this.backends.has(backendId)) this.backends.set(backendId, { lastActiveAt: undefined, byProxy: new Map() });
  }

  forget(backendId: string): void {
    this.backends.delete(backendId);
  }

  /** Take one proxy report (anything malformed in it is skipped). */
  record(report: ActivityReport, at = this.now()): void {
    if (typeof report?.proxy !== 'string' || !Array.isArray(report.backends)) return;
    const interval = Number.isFinite(report.interval_ms) ? Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, report.interval_ms)) : MAX_INTERVAL_MS;
    const forgetAfterMs = FORGET_AFTER_INTERVALS * interval;
    for (const b of report.backends) {
      const state = typeof b?.backend_id === 'string' ? this.backends.get(b.backend_id) : undefined;
      if (!state) continue;
      const connections = Number.isInteger(b.connections) && b.connections > 0 ? b.connections : 0;
      const requests = Number.isInteger(b.requests) && b.requests > 0 ? b.requests : 0;
      if (connections > 0) state.byProxy.set(report.proxy, { connections, at, forgetAfterMs });
      else state.byProxy.delete(report.proxy);
      if (connections > 0 || requests > 0) state.lastActiveAt = at;
    }
  }

  /** Open connections now (stale proxy counts are dropped on the way). */
  connections(backendId: string, at = this.now()): number {
    const state = this.backends.get(backendId);
    if (!state) return 0;
    let total = 0;
    for (const [proxy, count] of state.byProxy) {
      if (at - count.at > count.forgetAfterMs) state.byProxy.delete(proxy);
      else total += count.connections;
    }
    return total;
  }

  /** Receipt time of the last report with a request or an open connection for it. */
  lastActiveAt(backendId: string): number | undefined {
    return this.backends.get(backendId)?.lastActiveAt;
  }
}
