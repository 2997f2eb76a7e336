/**
 * One undici Pool per backend origin, kept on the backend entry so the request path finds it without
 * another Map lookup. Pools are released when the route table says the backend is gone.
 */
import { Pool } from 'undici';
import type { BackendEntry } from './route-table.js';

export interface PoolSetOptions {
  /** Keep-alive connections per backend. */
  connections?: number;
}

export class PoolSet {
  private readonly pools = new Set<Pool>();
  private readonly options: Pool.Options;

  constructor(opts: PoolSetOptions = {}) {
    this.options = {
      connections: opts.connections ?? 128,
      pipelining: 1,
      // Session backends hold requests open (long-poll, SSE): no header or body timeout; the client
      // going away is what ends a request.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 4_000,
    };
  }

  get(entry: BackendEntry): Pool {
    let pool = entry.pool;
    if (pool === null) {
      pool = new Pool(entry.origin, this.options);
      this.pools.add(pool);
      entry.pool = pool;
    }
    return pool;
  }

  /** The backend ended or moved: its connections are useless, drop them and fail what is in flight. */
  release(entry: BackendEntry): void {
    const pool = entry.pool;
    if (pool === null) return;
    entry.pool = null;
    this.pools.delete(pool);
    void pool.destroy().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.pools];
    this.pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
  }
}
