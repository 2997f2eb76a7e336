/**
 * The controller's periodic lifecycle work (every `sweepIntervalMs`), safe with any number of
 * controllers running it at once: every effect is a revision-checked write (one controller wins, the
 * others find it done) and every event carries a message id derived from what it describes.
 *
 * 1. Lost drones: a drone silent for `droneLostAfterMs` is marked `lost` (`drone.lost`), and every backend
 *    it still has is ended `lost`, its tokens revoked, its key freed (see `fencing.ts` for why that is safe).
 * 2. Expired key leases: a live backend whose key was not renewed for `keyExpirationMs` is ended
 *    `keyexpired`; a key still held by an ended (or never created) backend is freed.
 */
import type { BackendRecord } from '@jetplane/protocol';
import type { KeyStore } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import type { DroneDirectory } from './drone-directory.js';
import type { Fencing } from './fencing.js';
import type { KeyLeaseView } from './key-leases.js';
import { BackendView } from './listings.js';

/** A BackendView that also indexes the backends not terminated yet by drone. */
export class LiveBackendIndex extends BackendView {
  private readonly byDrone = new Map<string, Set<string>>();
  private readonly droneOf = new Map<string, string>();

  override put(record: BackendRecord): void {
    super.put(record);
    this.unindex(record.id);
    if (record.state.status !== 'terminated') {
      let set = this.byDrone.get(record.drone);
      if (!set) this.byDrone.set(record.drone, (set = new Set()));
      set.add(record.id);
      this.droneOf.set(record.id, record.drone);
    }
  }

  override remove(id: string): void {
    super.remove(id);
    this.unindex(id);
  }

  /** Ids of backends on `drone` that are not terminated (as far as the watch has told). */
  liveOn(drone: string): string[] {
    return [...(this.byDrone.get(drone) ?? [])];
  }

  /** How many backends on `drone` are not terminated. */
  liveCount(drone: string): number {
    return this.byDrone.get(drone)?.size ?? 0;
  }

  /** Drones with at least one backend not terminated. */
  dronesWithLiveBackends(): string[] {
    return [...this.byDrone.keys()];
  }

  private unindex(id: string): void {
    const drone = this.droneOf.get(id);
    if (drone === undefined) return;
    this.droneOf.delete(id);
    const set = this.byDrone.get(drone);
    set?.delete(id);
    if (set && set.size === 0) this.byDrone.delete(drone);
  }
}

export interface ReaperDeps {
  fencing: Fencing;
  index: LiveBackendIndex;
  directory: Pick<DroneDirectory, 'entries'>;
  leases: KeyLeaseView;
  keys: Pick<KeyStore, 'get' | 'releaseAt'>;
  intervalMs: number;
  log: Logger;
}

export interface Reaper {
  /** One sweep now (also what the timer runs); resolves when it is done. */
  sweep(): Promise<void>;
  stop(): void;
}

export function startReaper(deps: ReaperDeps): Reaper {
  const { log } = deps;
  let running: Promise<void> | undefined;
  let stopped = false;

  const lostDrones = async (): Promise<void> => {
    const candidates = new Set<string>(deps.index.dronesWithLiveBackends());
    for (const entry of deps.directory.entries()) {
      if (entry.record.state === 'ready' || entry.record.state === 'draining') candidates.add(entry.record.name);
    }
    for (const drone of candidates) {
      if (stopped) return;
      if (!deps.fencing.isSilent(drone)) continue;
      if (!(await deps.fencing.confirmGone(drone))) continue;
      for (const id of deps.index.liveOn(drone)) {
        const record = deps.index.get(id);
        if (record && record.state.status !== 'terminated') await deps.fencing.takeOver(record, 'lost');
      }
    }
  };

  const expiredLeases = async (): Promise<void> => {
    for (const lease of deps.leases.expired()) {
      if (stopped) return;
      const record = deps.index.get(lease.backendId);
      if (record && record.state.status !== 'terminated') {
        if (deps.fencing.isSilent(record.drone)) continue; // the lost-drone pass owns it
        await deps.fencing.takeOver(record, 'keyexpired', lease.revision);
        continue;
      }
      // Ended (its drone's release was lost) or never created (its controller died mid-connect).
      if (!(await deps.keys.releaseAt(lease.namespace, lease.name, lease.revision))) {
        const current = await deps.keys.get(lease.namespace, lease.name);
        if (current) deps.leases.put(lease.keyId, current.revision, current.value);
      } else {
        log.info({ backend_id: lease.backendId }, 'freed a key left behind by an ended backend');
      }
    }
  };

  const sweep = (): Promise<void> =>
    (running ??= (async () => {
      try {
        await lostDrones();
        await expiredLeases();
      } catch (err) {
        log.warn({ err }, 'lifecycle sweep failed');
      } finally {
        running = undefined;
      }
    })());

  const timer = setInterval(() => void sweep(), deps.intervalMs);
  timer.unref();
  return {
    sweep,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
