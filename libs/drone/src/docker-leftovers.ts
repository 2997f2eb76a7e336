/**
 * Containers nobody follows any more. At start, a drone's own containers from an earlier run are
 * adopted when their backend is still live on this drone (a crashed drone must not take its live
 * sessions down), otherwise removed. Then a periodic sweep removes containers that have no reason
 * to exist: this drone's that no runner follows, and other drones' whose backend is recorded terminated.
 */
import type { BackendRecord } from '@jetplane/protocol';
import type { BackendStore } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import type { DockerExecutor, LabelledContainer } from './executors/docker.js';

/** Plane's cleanup cadence (60 s). */
export const CONTAINER_SWEEP_INTERVAL_MS = 60_000;

type Containers = Pick<DockerExecutor, 'containers' | 'remove'>;

export interface LeftoverDeps {
  docker: Containers;
  backends: Pick<BackendStore, 'get'>;
  drone: string;
  log: Logger;
}

/** Live on this drone: the earlier run took it past `scheduled` and nothing ended it since. */
function liveHere(record: BackendRecord | undefined, drone: string): record is BackendRecord {
  if (!record || record.drone !== drone) return false;
  return record.state.status !== 'scheduled' && record.state.status !== 'terminated';
}

/**
 * Adopt or remove this drone's containers; returns the ids of adopted backends (their records must
 * not be recorded lost). `adopt` creates the runner; false when the container could not be followed.
 */
export async function adoptLeftoverContainers(
  deps: LeftoverDeps & { adopt(record: BackendRecord, containerId: string): Promise<boolean> },
): Promise<Set<string>> {
  const adopted = new Set<string>();
  for (const c of await deps.docker.containers('mine')) {
    const record = (await deps.backends.get(c.backendId))?.value;
    const log = deps.log.child({ backend_id: c.backendId, container: c.id.slice(0, 12) });
    if (c.running && liveHere(record, deps.drone) && !adopted.has(c.backendId)) {
      const ok = await deps.adopt(record, c.id).catch((err: unknown) => {
        log.warn({ err }, 'cannot adopt the container');
        return false;
      });
      if (ok) {
        adopted.add(c.backendId);
        continue;
      }
    }
    log.warn({ status: record?.state.status ?? null, running: c.running }, 'removing a container left over from an earlier run');
    await deps.docker.remove(c.id);
  }
  return adopted;
}

/** One sweep: which containers to remove (exported for tests). */
export async function containersToSweep(
  deps: LeftoverDeps & { followed(backendId: string): boolean },
  containers: LabelledContainer[],
): Promise<LabelledContainer[]> {
  const doomed: LabelledContainer[] = [];
  for (const c of containers) {
    if (c.drone === deps.drone) {
      if (!deps.followed(c.backendId)) doomed.push(c);
      continue;
    }
    // Another drone's (several drones, even several JetPlanes, may share a daemon): only once its
    // backend is recorded terminated here. An unknown backend may belong to another installation.
    const record = (await deps.backends.get(c.backendId))?.value;
    if (record?.state.status === 'terminated') doomed.push(c);
  }
  return doomed;
}

export function startContainerSweep(
  deps: LeftoverDeps & { followed(backendId: string): boolean; intervalMs?: number },
): { stop(): void } {
  let running = false;
  const sweep = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const all = await deps.docker.containers('all');
      for (const c of await containersToSweep(deps, all)) {
        // Checked again right before removing: a spawn may have started following it meanwhile.
        if (c.drone === deps.drone && deps.followed(c.backendId)) continue;
        deps.log.warn({ backend_id: c.backendId, container: c.id.slice(0, 12), drone: c.drone }, 'removing an orphaned container');
        await deps.docker.remove(c.id);
      }
    } catch (err) {
      deps.log.warn({ err }, 'container sweep failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), deps.intervalMs ?? CONTAINER_SWEEP_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
