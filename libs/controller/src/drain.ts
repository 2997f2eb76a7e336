/**
 * Drain: mark a drone `draining` in `jetplane_drones` (revision-checked, so a concurrent heartbeat
 * is not lost) and announce `drone.draining`. The scheduler then skips it; its backends keep running.
 * Drones must keep `draining` when they heartbeat (they read the stored state before writing).
 */
import { ApiError, type DrainResponse, type DroneRecord } from '@jetplane/protocol';
import { isRevisionConflict, type DroneStore, type EventPublisher } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';

export interface DrainDeps {
  drones: Pick<DroneStore, 'get' | 'update'>;
  events: Pick<EventPublisher, 'publish'>;
  log: Logger;
  now?: () => number;
}

const MAX_ATTEMPTS = 10;

export function droneNotFound(): ApiError {
  return new ApiError('NotFound', 'Drone does not exist');
}

export async function drain(deps: DrainDeps, cluster: string, droneName: string): Promise<DrainResponse> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await deps.drones.get(droneName);
    if (!current || current.value.cluster !== cluster) throw droneNotFound();
    if (current.value.state === 'draining') return { updated: false };
    const next: DroneRecord = { ...current.value, state: 'draining' };
    try {
      await deps.drones.update(next, current.revision);
    } catch (err) {
      if (isRevisionConflict(err)) continue; // a heartbeat landed in between: read again
      throw err;
    }
    const time = (deps.now ?? Date.now)();
    await deps.events
      .publish({ type: 'drone.draining', cluster, time, drone: droneName, pool: next.pool }, `drone.draining:${droneName}:${current.revision}`)
      .catch((err: unknown) => deps.log.warn({ err, drone: droneName }, 'drone.draining event not published'));
    deps.log.info({ drone: droneName, cluster }, 'drone draining');
    return { updated: true };
  }
  throw new ApiError('Other', 'Could not update the drone record: too many concurrent writes.');
}
