export { startProxy, type ProxyConfig, type ProxyHandle } from './proxy.js';
export { PROXY_NODE_FLAGS } from './node-flags.js';
export { createProxyServer, listen } from './server.js';
export type { ProxyContext } from './context.js';
export {
  RouteTable,
  asciiJson,
  isRoutable,
  type Route,
  type BackendEntry,
  type OpenConnection,
  type RouteFetcher,
  type RouteTableOptions,
} from './route-table.js';
export { RouteUnavailable, ERROR_BODIES, type UnavailableStatus } from './route-errors.js';
export { resolveRoute, type Resolution } from './resolve.js';
export { PoolSet, type PoolSetOptions } from './pools.js';
export { ProxyStats, registerProxyMetrics } from './metrics.js';
export { feedFromNats, natsFetcher, type RouteFeed } from './nats-feed.js';
export {
  buildUpstreamHeaders,
  filterResponseHeaders,
  connectionHasUpgrade,
  isVerifiedHeader,
  HAS_BODY,
  type VerifiedIdentity,
} from './header-policy.js';
export { tokenEnd, tokenOf, strippedPath, upstreamPath } from './token-path.js';
export { publishActivity, startActivityReporter, MAX_BACKENDS_PER_REPORT, type ActivityReporterOptions } from './activity-reporter.js';
