/** The controller's Prometheus metrics (default process metrics come with the registry). */
import { Counter, Gauge, Histogram, createRegistry, type Registry } from '@jetplane/observability';

export interface ControllerMetrics {
  registry: Registry;
  /** `outcome`: `spawned`, `existing`, or the error kind. `via`: `http` | `nats`. */
  connects: Counter<'outcome' | 'via'>;
  connectSeconds: Histogram<'via'>;
  sseStreams: Gauge;
}

export function createControllerMetrics(): ControllerMetrics {
  const registry = createRegistry('controller');
  return {
    registry,
    connects: new Counter({
      name: 'jetplane_controller_connects_total',
      help: 'Connect requests by outcome',
      labelNames: ['outcome', 'via'],
      registers: [registry],
    }),
    connectSeconds: new Histogram({
      name: 'jetplane_controller_connect_seconds',
      help: 'Connect latency',
      labelNames: ['via'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    sseStreams: new Gauge({
      name: 'jetplane_controller_status_streams',
      help: 'Open SSE status streams',
      registers: [registry],
    }),
  };
}

/** Run a connect and record its outcome and latency. */
export async function measureConnect<T extends { spawned: boolean }>(
  metrics: ControllerMetrics,
  via: 'http' | 'nats',
  run: () => Promise<T>,
): Promise<T> {
  const stop = metrics.connectSeconds.startTimer({ via });
  try {
    const result = await run();
    metrics.connects.inc({ outcome: result.spawned ? 'spawned' : 'existing', via });
    return result;
  } catch (err) {
    const kind = (err as { kind?: unknown }).kind;
    metrics.connects.inc({ outcome: typeof kind === 'string' ? kind : 'Other', via });
    throw err;
  } finally {
    stop();
  }
}

/** One live backend's resource use, for the per-backend gauges. */
export interface BackendUsageRow {
  backend_id: string;
  drone: string;
  cpu_percent: number;
  memory_bytes: number;
  memory_limit_bytes?: number | null | undefined;
}

/**
 * `jetplane_backend_cpu_percent`, `jetplane_backend_memory_bytes` and
 * `jetplane_backend_memory_limit_bytes`, labelled by backend and drone. Filled at scrape time from
 * `rows()`, so ended backends disappear from the output instead of piling up as stale series.
 */
export function registerBackendUsageMetrics(metrics: ControllerMetrics, rows: () => BackendUsageRow[]): void {
  const labelNames = ['backend_id', 'drone'] as const;
  const gauge = (name: string, help: string, value: (r: BackendUsageRow) => number | null | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const r of rows()) {
          const v = value(r);
          if (typeof v === 'number') this.set({ backend_id: r.backend_id, drone: r.drone }, v);
        }
      },
    });
  };
  gauge('jetplane_backend_cpu_percent', 'Latest CPU use of a live backend, in % of one core', (r) => r.cpu_percent);
  gauge('jetplane_backend_memory_bytes', 'Latest memory use of a live backend (reclaimable cache excluded)', (r) => r.memory_bytes);
  gauge('jetplane_backend_memory_limit_bytes', 'Memory limit of a live backend, when it has one', (r) => r.memory_limit_bytes);
}
