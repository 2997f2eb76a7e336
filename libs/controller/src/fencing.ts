/**
 * When may a backend's key be given to someone else, and ending a backend whose claim is over. Two
 * leases protect a key, both judged on this controller's clock only:
 *
 * - the drone's heartbeat: a drone silent for `droneLostAfterMs` (since this controller last heard it)
 *   has killed all its backends by then on its own clock (it fences itself one heartbeat earlier,
 *   measured from when it sent its last stored heartbeat). Confirmed with a revision-checked write of its
 *   record, so a heartbeat stored meanwhile (seen late here) always wins. → reason `lost`.
 * - the key lease: a key not renewed for `keyExpirationMs` (see `key-leases.ts`); the drone hard-kills
 *   at `keyHardTerminateAfterMs` < expiration. Released only at the very revision judged expired, so a
 *   renewal that landed meanwhile always wins. → reason `keyexpired`.
 *
 * Ending a backend ("take over"): free its key (revision-checked), record it `terminated`
 * (forward-only, revision-checked: among several controllers one wins, the others find it done), publish
 * the status event, revoke its tokens (the proxies drop the routes and cut open connections).
 */
import { toTerminated, type BackendRecord, type DroneRecord, type KeyRecord, type TerminationReason, type Timing } from '@jetplane/protocol';
import { hashToken, isRevisionConflict, keyId, tokenFingerprint, type BackendStore, type DroneStore, type EventPublisher, type KeyStore, type TokenStore, type Versioned } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import type { DroneDirectory } from './drone-directory.js';
import type { KeyLeaseView } from './key-leases.js';
import { statusEvent } from './spawn.js';

export type StaleReason = Extract<TerminationReason, 'lost' | 'keyexpired'>;

export interface FencingDeps {
  keys: Pick<KeyStore, 'get' | 'releaseAt'>;
  backends: Pick<BackendStore, 'transition'>;
  tokens: Pick<TokenStore, 'revokeBackend'>;
  drones: Pick<DroneStore, 'get' | 'update'>;
  events: Pick<EventPublisher, 'publish'>;
  directory: Pick<DroneDirectory, 'get'>;
  leases: KeyLeaseView;
  timing: Pick<Timing, 'droneLostAfterMs'>;
  log: Logger;
  /** Monotonic ms (default `performance.now`); must be the directory's `heardAt` clock. */
  monotonic?: () => number;
}

const ATTEMPTS = 3;

export class Fencing {
  private readonly now: () => number;
  private readonly startedAt: number;

  constructor(private readonly deps: FencingDeps) {
    this.now = deps.monotonic ?? (() => performance.now());
    this.startedAt = this.now();
  }

  /**
   * No heartbeat reached this controller for `droneLostAfterMs` (no I/O). A drone this controller never
   * heard of counts once it has itself been up that long (it would have seen any heartbeat by then).
   */
  isSilent(drone: string, now = this.now()): boolean {
    const entry = this.deps.directory.get(drone);
    const since = entry ? entry.heardAt : this.startedAt;
    return now - since > this.deps.timing.droneLostAfterMs;
  }

  /**
   * Whether the drone is gone for good as far as its backends are concerned: silent here, and no newer
   * heartbeat stored. Proven by a revision-checked write of its record (state `lost` the first time,
   * with one `drone.lost` event among all controllers; unchanged afterwards).
   */
  async confirmGone(drone: string): Promise<boolean> {
    if (!this.isSilent(drone)) return false;
    const known = this.deps.directory.get(drone)?.record;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.deps.drones.get(drone);
      if (!current) return true; // never registered, or deregistered: nothing heartbeats under that name
      if (!known || current.value.heartbeat_at !== known.heartbeat_at) return false; // a heartbeat this controller has not seen yet
      const marking = current.value.state === 'ready' || current.value.state === 'draining';
      const next: DroneRecord = marking ? { ...current.value, state: 'lost' } : current.value;
      try {
        await this.deps.drones.update(next, current.revision);
      } catch (err) {
        if (isRevisionConflict(err)) continue;
        throw err;
      }
      if (marking) {
        this.deps.log.warn({ drone, silent_ms: this.silentFor(drone) }, 'drone lost: no heartbeat');
        await this.deps.events
          .publish({ type: 'drone.lost', cluster: next.cluster, time: Date.now(), drone, pool: next.pool }, `drone.lost:${drone}:${current.revision}`)
          .catch((err: unknown) => this.deps.log.warn({ err, drone }, 'drone.lost event not published'));
      }
      return true;
    }
    return false;
  }

  /** Why the backend holding `held` no longer has a claim on it, or null while it does. */
  async staleHolder(record: BackendRecord, held: Versioned<KeyRecord>): Promise<StaleReason | null> {
    if (this.isSilent(record.drone) && (await this.confirmGone(record.drone))) return 'lost';
    if (this.deps.leases.isExpired(held.value.namespace, held.value.name, held.revision)) return 'keyexpired';
    return null;
  }

  /**
   * End `record` for `reason` and free its key. With `keyRevision` the key is only freed at exactly that
   * revision (a lease judged expired: a renewal since then wins and nothing happens, `false`); without, it
   * is freed if this backend still holds it. Idempotent.
   */
  async takeOver(record: BackendRecord, reason: StaleReason, keyRevision?: number): Promise<boolean> {
    const { namespace, name } = record.key;
    const log = this.deps.log.child({ backend_id: record.id, drone: record.drone });
    if (keyRevision !== undefined) {
      if (!(await this.deps.keys.releaseAt(namespace, name, keyRevision))) {
        const current = await this.deps.keys.get(namespace, name);
        // Renewed since (still this backend's at a newer revision): not stale after all.
        if (current && current.value.backend_id === record.id) {
          this.deps.leases.put(keyIdOf(current), current.revision, current.value);
          return false;
        }
      }
    } else {
      await this.releaseIfHeld(record);
    }
    const message = reason === 'lost' ? `drone ${record.drone} was lost` : 'key lease expired';
    const moved = await this.deps.backends.transition(record.id, (current) => toTerminated(current.state, Date.now(), null, reason, message));
    if (moved) {
      log.warn({ reason, last_status: moved.before.state.status }, 'backend ended by the controller');
      await this.deps.events
        .publish(statusEvent(moved.after, moved.after.state), `${record.id}:terminated`)
        .catch((err: unknown) => log.warn({ err }, 'backend.status event not published'));
    }
    await this.revokeTokens(record, log);
    return true;
  }

  private async releaseIfHeld(record: BackendRecord): Promise<void> {
    const { namespace, name } = record.key;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.deps.keys.get(namespace, name);
      if (!current || current.value.backend_id !== record.id) return;
      if (await this.deps.keys.releaseAt(namespace, name, current.revision)) return;
    }
  }

  private async revokeTokens(record: BackendRecord, log: Logger): Promise<void> {
    const hashes = await this.deps.tokens.revokeBackend(record.id);
    const staticHash = record.static_token ? hashToken(record.static_token) : null;
    await Promise.all(
      hashes.map((hash) => {
        const fingerprint = tokenFingerprint(hash);
        return this.deps.events
          .publish(
            { type: 'token.revoked', cluster: record.cluster, time: Date.now(), backend_id: record.id, fingerprint, static: hash === staticHash },
            `${record.id}:revoked:${fingerprint}`,
          )
          .catch((err: unknown) => log.warn({ err }, 'token.revoked event not published'));
      }),
    );
  }

  private silentFor(drone: string): number | null {
    const entry = this.deps.directory.get(drone);
    return entry ? Math.round(this.now() - entry.heardAt) : null;
  }
}

function keyIdOf(held: Versioned<KeyRecord>): string {
  return keyId(held.value.namespace, held.value.name);
}
