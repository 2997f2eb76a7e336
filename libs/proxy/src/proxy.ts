/** `startProxy`: NATS, the route table caught up, the HTTP server, the health server; and a clean close. */
import type { Server } from 'node:http';
import { newProxyName, Timing } from '@jetplane/protocol';
import { openJetPlane } from '@jetplane/nats';
import { createRegistry, startHealthServer, type Logger } from '@jetplane/observability';
import type { ProxyContext } from './context.js';
import { RouteTable } from './route-table.js';
import { PoolSet } from './pools.js';
import { ProxyStats, registerProxyMetrics } from './metrics.js';
import { feedFromNats, natsFetcher, type RouteFeed } from './nats-feed.js';
import { createProxyServer, listen } from './server.js';
import { startActivityReporter } from './activity-reporter.js';

export interface ProxyConfig {
  /** NATS server URLs. */
  servers: string[];
  /** The cluster this proxy serves; tokens of other clusters are unknown here. */
  cluster: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Serve `/healthz` and `/metrics` on this port (same host). */
  healthPort?: number;
  /** JetStream replicas used when this proxy is the one creating the buckets. */
  replicas?: number;
  /** How long a request waits for a backend that is not ready yet, then 503. */
  waitForReadyMs?: number;
  /** How long in-flight requests get to finish on close before their connections are cut. */
  shutdownGraceMs?: number;
  /** Activity reports to the drones' idle sweeps are coalesced over this window (`Timing.activityReportIntervalMs`). */
  activityReportIntervalMs?: number;
  logger: Logger;
}

export interface ProxyHandle {
  /** `http://host:port` the proxy listens on. */
  url: string;
  healthUrl: string | null;
  /** This proxy's name (`px-…`), also its NATS connection name. */
  name: string;
  routes: RouteTable;
  close(): Promise<void>;
}

function hostUrl(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

export async function startProxy(config: ProxyConfig): Promise<ProxyHandle> {
  const log = config.logger;
  const host = config.host ?? '127.0.0.1';
  const name = newProxyName();
  const jp = await openJetPlane({ servers: config.servers, name: `jetplane-proxy ${name}`, replicas: config.replicas ?? 1 });
  const pools = new PoolSet();
  const table = new RouteTable({ cluster: config.cluster, fetcher: natsFetcher(jp), onBackendGone: (entry) => pools.release(entry) });
  const stats = new ProxyStats();
  const ctx: ProxyContext = {
    table,
    pools,
    stats,
    waitForReadyMs: config.waitForReadyMs ?? Timing.proxyWaitForReadyMs,
    log,
    tunnels: new Set(),
  };
  let feed: RouteFeed | null = null;
  let server: Server | null = null;
  let health: Awaited<ReturnType<typeof startHealthServer>> | null = null;
  const reporter = startActivityReporter({
    nc: jp.nc,
    table,
    proxy: name,
    intervalMs: config.activityReportIntervalMs ?? Timing.activityReportIntervalMs,
    log,
  });

  const shutdown = async (): Promise<void> => {
    reporter.stop();
    feed?.stop();
    table.close();
    if (server !== null) await stopServer(server, ctx, config.shutdownGraceMs ?? 5_000);
    await pools.close();
    await health?.close();
    await jp.close();
  };

  try {
    feed = await feedFromNats(table, jp, log);
    await feed.caughtUp;
    server = createProxyServer(ctx);
    const port = await listen(server, config.port ?? 9090, host);
    if (config.healthPort !== undefined) {
      const registry = createRegistry('proxy');
      registerProxyMetrics(registry, stats, () => table.size);
      health = await startHealthServer({ host, port: config.healthPort, registry, healthy: () => jp.isConnected() });
    }
    const url = hostUrl(host, port);
    log.info({ url, cluster: config.cluster, name, routes: table.size, health: health?.url }, 'ready');
    let closing: Promise<void> | null = null;
    return {
      url,
      healthUrl: health?.url ?? null,
      name,
      routes: table,
      close: () => (closing ??= shutdown()),
    };
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw err;
  }
}

/** Stop accepting, close idle keep-alive sockets and tunnels, give in-flight requests a grace period. */
async function stopServer(server: Server, ctx: ProxyContext, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  for (const tunnel of [...ctx.tunnels]) tunnel.destroy();
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([closed, grace]);
  clearTimeout(timer);
  server.closeAllConnections();
  await closed;
}
