/**
 * The controller's view of `jetplane_drones`, fed by a KV watch. Liveness is judged by this
 * controller's own clock (when a heartbeat arrived), never by the drone's clock.
 */
import { ApiError, type DroneListing, type DroneRecord, type ExecutorKind } from '@jetplane/protocol';
import { decodeJson, watchBucket, type BucketWatch, type KV } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';

export interface DroneEntry {
  record: DroneRecord;
  /** Local time the drone's latest heartbeat arrived. */
  receivedAt: number;
  /** Spawns this controller sent since that heartbeat (not yet in `record.backends`). */
  pendingSpawns: number;
  /**
   * Monotonic time (this controller's clock) the latest heartbeat reached THIS controller; for records
   * replayed at start, the replay time (never earlier). Lost-drone detection uses only this.
   */
  heardAt: number;
}

export interface DroneDirectoryOptions {
  /** A drone silent for longer gets no new work (`Timing.droneUnhealthyAfterMs`). */
  unhealthyAfterMs: number;
  /** `Retry-After` (s) when every eligible drone is full: about one heartbeat, when loads are next reported. */
  retryAfterSeconds: number;
  /**
   * Backends recorded on a drone and not terminated, as the backend watch sees them. A heartbeat's count
   * can predate spawns it has not taken yet, so the load is never taken below this.
   */
  liveBackends?: (drone: string) => number;
  now?: () => number;
  /** Monotonic ms for `heardAt` (default `performance.now`). */
  monotonic?: () => number;
  random?: () => number;
}

export class DroneDirectory {
  private readonly drones = new Map<string, DroneEntry>();
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: DroneDirectoryOptions) {
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
  }

  /** A record was put. `receivedAt` defaults to now. */
  update(record: DroneRecord, receivedAt = this.now()): void {
    const prev = this.drones.get(record.name);
    // Only a new heartbeat proves liveness and refreshes the load; an edit by a controller
    // (drain) carries the old `heartbeat_at` and must not make a silent drone look alive.
    if (prev && prev.record.heartbeat_at === record.heartbeat_at) {
      prev.record = record;
      return;
    }
    this.drones.set(record.name, { record, receivedAt, pendingSpawns: 0, heardAt: this.monotonic() });
  }

  /** Every drone this controller knows of. */
  entries(): IterableIterator<DroneEntry> {
    return this.drones.values();
  }

  remove(name: string): void {
    this.drones.delete(name);
  }

  get(name: string): DroneEntry | undefined {
    return this.drones.get(name);
  }

  isHealthy(entry: DroneEntry, now = this.now()): boolean {
    return now - entry.receivedAt <= this.opts.unhealthyAfterMs;
  }

  load(entry: DroneEntry): number {
    return Math.max(entry.record.backends + entry.pendingSpawns, this.opts.liveBackends?.(entry.record.name) ?? 0);
  }

  /**
   * Choose the drone for a new backend and count the spawn against it. Throws `NoDroneAvailable`
   * when no live drone of that cluster/pool runs the executor, `TooManyBackends` when all are full.
   */
  pick(cluster: string, pool: string, kind: ExecutorKind): string {
    const now = this.now();
    const eligible = [...this.drones.values()].filter(
      (d) =>
        d.record.cluster === cluster &&
        d.record.pool === pool &&
        d.record.state === 'ready' &&
        d.record.executors.includes(kind) &&
        this.isHealthy(d, now),
    );
    if (eligible.length === 0) throw new ApiError('NoDroneAvailable');
    const withRoom = eligible.filter((d) => d.record.max_backends == null || this.load(d) < d.record.max_backends);
    if (withRoom.length === 0) {
      throw new ApiError('TooManyBackends', undefined, { retryAfter: this.opts.retryAfterSeconds });
    }
    const least = Math.min(...withRoom.map((d) => this.load(d)));
    const best = withRoom.filter((d) => this.load(d) === least);
    const chosen = best[Math.floor(this.random() * best.length)] ?? best[0]!;
    chosen.pendingSpawns++;
    return chosen.record.name;
  }

  /** Undo a `pick` whose spawn was not sent (the key race was lost). */
  cancelSpawn(name: string): void {
    const entry = this.drones.get(name);
    if (entry && entry.pendingSpawns > 0) entry.pendingSpawns--;
  }

  /** Rows for `GET /ctrl/drones`, sorted by name. */
  list(filter: { cluster?: string; pool?: string; state?: string } = {}): DroneListing[] {
    const now = this.now();
    return [...this.drones.values()]
      .filter(
        (d) =>
          (filter.cluster === undefined || d.record.cluster === filter.cluster) &&
          (filter.pool === undefined || d.record.pool === filter.pool) &&
          (filter.state === undefined || d.record.state === filter.state),
      )
      .sort((a, b) => (a.record.name < b.record.name ? -1 : a.record.name > b.record.name ? 1 : 0))
      .map((d) => ({
        name: d.record.name,
        cluster: d.record.cluster,
        pool: d.record.pool,
        state: d.record.state,
        healthy: this.isHealthy(d, now),
        executors: [...d.record.executors],
        backends: d.record.backends,
        max_backends: d.record.max_backends,
        last_heartbeat_age_ms: Math.max(0, now - d.receivedAt),
      }));
  }
}

/**
 * Feed `directory` from the bucket. Records replayed at start are dated by when the server stored
 * them (never later than now), so a drone that died before this controller started is not taken
 * for alive for a whole `unhealthyAfterMs`.
 */
export async function followDrones(kv: KV, directory: DroneDirectory, log: Logger): Promise<BucketWatch> {
  let live = false;
  const watch = await watchBucket(kv, {
    onPut(key, entry) {
      try {
        const now = Date.now();
        const receivedAt = live ? now : Math.min(now, entry.created.getTime());
        directory.update(decodeJson<DroneRecord>(entry.value), receivedAt);
      } catch (err) {
        log.warn({ err, drone: key }, 'ignoring undecodable drone record');
      }
    },
    onDelete(key) {
      directory.remove(key);
    },
  }, '>', { onReopen: (why, from) => log.warn({ bucket: 'drones', why, from_revision: from }, 'watch re-opened') });
  void watch.caughtUp.then(() => (live = true));
  return watch;
}
