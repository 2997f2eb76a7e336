/** `jetplane_keys`: who holds a key. Acquired atomically with `create`, released with a revision check. */
import type { KV } from '@nats-io/kv';
import type { KeyRecord } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';
import { isRevisionConflict } from './errors.js';
import { keyId } from './token-hash.js';
import type { Versioned } from './backends.js';

export class KeyStore {
  constructor(readonly kv: KV) {}

  /**
   * Take the key if nobody holds it. Returns the new revision (the fencing token), or
   * `undefined` if someone else holds it. Over a deleted key, `create` succeeds.
   */
  async acquire(record: KeyRecord): Promise<number | undefined> {
    try {
      return await this.kv.create(keyId(record.namespace, record.name), encodeJson(record));
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  async get(namespace: string, name: string): Promise<Versioned<KeyRecord> | null> {
    const entry = await this.kv.get(keyId(namespace, name));
    return entry && entry.operation === 'PUT' ? { value: decodeJson<KeyRecord>(entry.value), revision: entry.revision } : null;
  }

  /** Release the key if it is still at `revision` (nobody re-took it since). */
  async releaseAt(namespace: string, name: string, revision: number): Promise<boolean> {
    try {
      await this.kv.delete(keyId(namespace, name), { previousSeq: revision });
      return true;
    } catch (err) {
      if (isRevisionConflict(err)) return false;
      throw err;
    }
  }

  /**
   * Renew `backendId`'s lease on the key: a revision-checked rewrite of the record it holds (plus
   * `renewed_at`, the renewing drone's clock, informational). The creation revision (the fencing token)
   * never changes; the entry's revision moves on, which is what controllers watch to date the lease.
   * `gone`: nobody holds the key any more; `taken`: another backend does.
   */
  async renew(namespace: string, name: string, backendId: string): Promise<{ ok: true; revision: number } | { ok: false; reason: 'gone' | 'taken' }> {
    let negative = 0;
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.get(namespace, name);
      if (!current || current.value.backend_id !== backendId) {
        // Reads may be served by a replica that lags a moment behind (KV direct get): only a verdict
        // seen three times, 200 ms apart, ends a lease.
        if (++negative >= 3) return { ok: false, reason: current ? 'taken' : 'gone' };
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      const next: KeyRecord = { ...current.value, renewed_at: Date.now() };
      try {
        return { ok: true, revision: await this.kv.update(keyId(namespace, name), encodeJson(next), current.revision) };
      } catch (err) {
        // Deleted or re-taken between the read and the write (or the read came from a lagging
        // replica): read again to tell which.
        if (!isRevisionConflict(err)) throw err;
      }
    }
    // Not a verdict on the key: the caller retries like after any failed attempt.
    throw new Error(`renewal of key ${JSON.stringify([namespace, name])} kept conflicting`);
  }

  /** Release the key if `backendId` still holds it. Idempotent. */
  async releaseIfHeldBy(namespace: string, name: string, backendId: string): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(namespace, name);
      if (!current || current.value.backend_id !== backendId) return false;
      if (await this.releaseAt(namespace, name, current.revision)) return true;
    }
    return false;
  }
}
