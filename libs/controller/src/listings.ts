/**
 * `GET /ctrl/drones` and `GET /ctrl/backends`. Backends come from a watch-fed copy of
 * `jetplane_backends`, so listing never scans the bucket. Rows never include executables
 * (their env may hold secrets), tokens or secrets.
 */
import type { BackendListing, BackendRecord, ListQuery } from '@jetplane/protocol';
import { decodeBackend, watchBucket, type BucketWatch, type KV } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import type { StatsView } from './stats-view.js';

/** Filters with empty strings meaning "not given" (`?cluster=` from a form), except `pool` where "" is the default pool. */
export function normalizeQuery(query: ListQuery): ListQuery {
  const out: ListQuery = {};
  if (query.cluster) out.cluster = query.cluster;
  if (query.pool !== undefined) out.pool = query.pool;
  if (query.state) out.state = query.state;
  return out;
}

export function backendListing(record: BackendRecord, stats?: StatsView): BackendListing {
  const { state } = record;
  const row: BackendListing = {
    id: record.id,
    cluster: record.cluster,
    pool: record.pool,
    drone: record.drone,
    status: state.status,
    key: { namespace: record.key.namespace, name: record.key.name },
    created_at: record.created_at,
    status_time: state.time,
  };
  if (state.termination_reason) row.termination_reason = state.termination_reason;
  if (state.termination_kind) row.termination_kind = state.termination_kind;
  if (state.status === 'terminated') row.exit_code = state.exit_code ?? null;
  // Resource use only while it is meaningful: a sample outliving its backend would mislead.
  const usage = state.status !== 'terminated' ? stats?.get(record.id) : undefined;
  if (usage) row.stats = usage;
  return row;
}

export class BackendView {
  private readonly records = new Map<string, BackendRecord>();

  /** `stats`: where rows get their resource use from (none without it). */
  constructor(private readonly stats?: StatsView) {}

  get(id: string): BackendRecord | undefined {
    return this.records.get(id);
  }

  put(record: BackendRecord): void {
    this.records.set(record.id, record);
  }

  remove(id: string): void {
    this.records.delete(id);
  }

  /** Rows matching the filters (`state` filters on the status), newest first. */
  list(query: ListQuery = {}): BackendListing[] {
    const q = normalizeQuery(query);
    const rows: BackendListing[] = [];
    for (const r of this.records.values()) {
      if (q.cluster !== undefined && r.cluster !== q.cluster) continue;
      if (q.pool !== undefined && r.pool !== q.pool) continue;
      if (q.state !== undefined && r.state.status !== q.state) continue;
      rows.push(backendListing(r, this.stats));
    }
    return rows.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
  }
}

export async function followBackends(kv: KV, view: BackendView, log: Logger): Promise<BucketWatch> {
  return watchBucket(kv, {
    onPut(key, entry) {
      try {
        view.put(decodeBackend(entry));
      } catch (err) {
        log.warn({ err, backend_id: key }, 'ignoring undecodable backend record');
      }
    },
    onDelete(key) {
      view.remove(key);
    },
  });
}
