/** The drone's Prometheus metrics. */
import { Counter, Gauge, createRegistry, type Registry } from '@jetplane/observability';

export interface DroneMetrics {
  registry: Registry;
  backendsRunning: Gauge;
  spawns: Counter;
  terminations: Counter<'reason'>;
}

export function createDroneMetrics(): DroneMetrics {
  const registry = createRegistry('drone');
  return {
    registry,
    backendsRunning: new Gauge({
      name: 'jetplane_drone_backends_running',
      help: 'Backends this drone runs that are not terminated yet',
      registers: [registry],
    }),
    spawns: new Counter({
      name: 'jetplane_drone_spawns_total',
      help: 'Spawns this drone accepted',
      registers: [registry],
    }),
    terminations: new Counter({
      name: 'jetplane_drone_terminations_total',
      help: 'Backends recorded terminated by this drone, by termination reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}
