/** `jetplane_drones`: the drone registry, refreshed by each drone's heartbeat. */
import type { KV } from '@nats-io/kv';
import type { DroneRecord } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';
import type { Versioned } from './backends.js';

export class DroneStore {
  constructor(readonly kv: KV) {}

  async put(record: DroneRecord): Promise<number> {
    return this.kv.put(record.name, encodeJson(record));
  }

  /** First registration: fails with a revision conflict if the name is taken. */
  async create(record: DroneRecord): Promise<number> {
    return this.kv.create(record.name, encodeJson(record));
  }

  /** Revision-checked write: fails with a revision conflict if the record changed since `revision`. */
  async update(record: DroneRecord, revision: number): Promise<number> {
    return this.kv.update(record.name, encodeJson(record), revision);
  }

  async get(name: string): Promise<Versioned<DroneRecord> | null> {
    const entry = await this.kv.get(name);
    return entry && entry.operation === 'PUT' ? { value: decodeJson<DroneRecord>(entry.value), revision: entry.revision } : null;
  }
}
