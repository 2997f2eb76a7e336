/** `jetplane_backends`: backend records with forward-only, revision-checked status changes. */
import type { KV, KvEntry } from '@nats-io/kv';
import { isForwardTransition, type BackendRecord, type BackendState } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';
import { isRevisionConflict } from './errors.js';

export interface Versioned<T> {
  value: T;
  revision: number;
}

const MAX_CAS_ATTEMPTS = 20;

export class BackendStore {
  constructor(readonly kv: KV) {}

  /** Create a new record; fails with a revision conflict if the id exists. */
  async create(record: BackendRecord): Promise<number> {
    return this.kv.create(record.id, encodeJson(record));
  }

  async get(id: string): Promise<Versioned<BackendRecord> | null> {
    const entry = await this.kv.get(id);
    return entry && entry.operation === 'PUT' ? { value: decodeJson<BackendRecord>(entry.value), revision: entry.revision } : null;
  }

  /**
   * Move a backend to the state `next` computes from its current record, with a revision check,
   * retrying on conflicts. Returns the stored record, or `undefined` when `next` declined or the
   * change would move the status backwards.
   */
  async transition(
    id: string,
    next: (current: BackendRecord) => BackendState | undefined,
  ): Promise<{ before: BackendRecord; after: BackendRecord } | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      const state = next(current.value);
      if (!state || !isForwardTransition(current.value.state, state)) return undefined;
      const after: BackendRecord = { ...current.value, state };
      try {
        await this.kv.update(id, encodeJson(after), current.revision);
        return { before: current.value, after };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new Error(`backend ${id}: too many concurrent status updates`);
  }

  /** Every stored version of one backend (its status history), then live changes. */
  async watchHistory(id: string): Promise<AsyncIterable<KvEntry> & { stop(): void }> {
    return this.kv.watch({ key: id, include: 'history' });
  }
}

export function decodeBackend(entry: KvEntry): BackendRecord {
  return decodeJson<BackendRecord>(entry.value);
}
