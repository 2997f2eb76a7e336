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
