/** Backends this drone does not run but whose records say they are here: record them `lost`. */
import type { BackendStore } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { recordStatus, releaseBackend, type DroneStores } from './cleanup.js';
import type { RetryPolicy } from './retry.js';
import { toLost } from './transitions.js';

interface Io {
  log: Logger;
  retry?: RetryPolicy;
}

/**
 * Terminate work for a backend without a runner here: it is gone (Plane Q7), so it goes straight to
 * `terminated` (`lost`) and its tokens and key are released. Idempotent: a repeat only re-releases,
 * which finds nothing. `failed`: NATS could not be reached (the work should be redelivered).
 */
export async function endUnknownBackend(stores: DroneStores, drone: string, backendId: string, parent: Io): Promise<'ended' | 'not-here' | 'failed'> {
  const io = { ...parent, log: parent.log.child({ backend_id: backendId }) };
  const outcome = await recordStatus(
    stores,
    backendId,
    (current) => (current.drone === drone ? toLost(current.state, Date.now()) : undefined),
    io,
  );
  if (outcome.kind === 'failed') return 'failed';
  if (outcome.kind === 'written') {
    await releaseBackend(stores, outcome.record, io);
    return 'ended';
  }
  const current = await stores.backends.get(backendId).catch(() => null);
  if (current && current.value.drone === drone && current.value.state.status === 'terminated') {
    // Its first cleanup may have been cut short (NATS outage, crash): releasing again is harmless.
    await releaseBackend(stores, current.value, io);
  }
  return 'not-here';
}

/**
 * A drone restarted under the same name runs none of its predecessor's backends (except those in
 * `adopted`: containers it found still running and took over). Those past `scheduled` are recorded
 * `lost`; `scheduled` ones still have their spawn work queued.
 */
export async function endLeftoverBackends(
  stores: DroneStores & { backends: Pick<BackendStore, 'kv'> },
  drone: string,
  io: Io,
  adopted: ReadonlySet<string> = new Set(),
): Promise<number> {
  let ended = 0;
  for await (const id of await stores.backends.kv.keys()) {
    if (adopted.has(id)) continue;
    const current = await stores.backends.get(id);
    if (!current || current.value.drone !== drone) continue;
    const status = current.value.state.status;
    if (status === 'scheduled' || status === 'terminated') continue;
    io.log.warn({ backend_id: id, status }, 'backend left over from an earlier run of this drone');
    if ((await endUnknownBackend(stores, drone, id, io)) === 'ended') ended++;
  }
  return ended;
}
