/** What the request handlers share; built once by `startProxy` (or a test) and passed by reference. */
import type { Logger } from '@jetplane/observability';
import type { OpenConnection, RouteTable } from './route-table.js';
import type { PoolSet } from './pools.js';
import type { ProxyStats } from './metrics.js';

export interface ProxyContext {
  table: RouteTable;
  pools: PoolSet;
  stats: ProxyStats;
  /** How long a request waits for a backend that is not ready yet before 503. */
  waitForReadyMs: number;
  log: Logger;
  /** Open upgraded connections, closed at shutdown (the HTTP server no longer tracks them). */
  tunnels: Set<OpenConnection>;
}
