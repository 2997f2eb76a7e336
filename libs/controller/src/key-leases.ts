/**
 * This controller's view of key leases, fed by a watch of `jetplane_keys`. A key's lease is dated by
 * when THIS controller saw its last write (acquisition or renewal), on its own monotonic clock; keys
 * present when the watch started are dated at that moment (conservative: a controller that just started
 * never finds a lease older than its own uptime). A key is expired once nothing was written to it for
 * `keyExpirationMs`. The drone renewing it measures its own deadlines from when it sent the renewal (no
 * later than this controller saw it) and hard-terminates at `keyHardTerminateAfterMs` < expiration: no
 * clocks of two machines are ever compared.
 */
import { decodeJson, keyId, watchBucket, type BucketWatch, type KV } from '@jetplane/nats';
import type { KeyRecord } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';

export interface LeaseSighting {
  keyId: string;
  /** Entry revision of the last write seen. */
  revision: number;
  backendId: string;
  namespace: string;
  name: string;
  /** Monotonic ms when this controller saw it. */
  seenAt: number;
}

export class KeyLeaseView {
  private readonly seen = new Map<string, LeaseSighting>();
  private readonly now: () => number;

  constructor(
    private readonly expirationMs: number,
    now?: () => number,
  ) {
    this.now = now ?? (() => performance.now());
  }

  put(id: string, revision: number, record: KeyRecord, seenAt = this.now()): void {
    const current = this.seen.get(id);
    if (current && current.revision >= revision) return;
    this.seen.set(id, { keyId: id, revision, backendId: record.backend_id, namespace: record.namespace, name: record.name, seenAt });
  }

  remove(id: string): void {
    this.seen.delete(id);
  }

  get(namespace: string, name: string): LeaseSighting | undefined {
    return this.seen.get(keyId(namespace, name));
  }

  /**
   * Whether the holder of the key at `revision` has not renewed for `keyExpirationMs`. False when this
   * view has not seen that revision (it lags the caller's read, or the key was written since): the
   * caller then simply waits for a later look.
   */
  isExpired(namespace: string, name: string, revision: number, now = this.now()): boolean {
    const s = this.get(namespace, name);
    return s !== undefined && s.revision === revision && now - s.seenAt > this.expirationMs;
  }

  /** ms until the lease at its last seen revision expires (negative once expired), or undefined. */
  expiresIn(namespace: string, name: string, now = this.now()): number | undefined {
    const s = this.get(namespace, name);
    return s === undefined ? undefined : s.seenAt + this.expirationMs - now;
  }

  /** Every lease this view finds expired right now. */
  expired(now = this.now()): LeaseSighting[] {
    const out: LeaseSighting[] = [];
    for (const s of this.seen.values()) if (now - s.seenAt > this.expirationMs) out.push(s);
    return out;
  }

  get size(): number {
    return this.seen.size;
  }
}

export async function followKeys(kv: KV, view: KeyLeaseView, log: Logger): Promise<BucketWatch> {
  return watchBucket(kv, {
    onPut(key, entry) {
      try {
        view.put(key, entry.revision, decodeJson<KeyRecord>(entry.value));
      } catch (err) {
        log.warn({ err, key }, 'ignoring undecodable key record');
      }
    },
    onDelete(key) {
      view.remove(key);
    },
  }, '>', { onReopen: (why, from) => log.warn({ bucket: 'keys', why, from_revision: from }, 'watch re-opened') });
}
