/**
 * Request accounting as plain numbers (an array increment per response); Prometheus reads them only
 * when scraped, through `collect` hooks, so the request path never touches prom-client.
 */
import { Counter, Gauge, type Registry } from '@jetplane/observability';

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export class ProxyStats {
  /** Responses by status class: index 0 = 1xx … 4 = 5xx. */
  readonly responses = new Float64Array(5);
  /** Upgraded connections open right now. */
  openTunnels = 0;

  count(status: number): void {
    const i = ((status / 100) | 0) - 1;
    if (i >= 0 && i < 5) this.responses[i]! += 1;
  }
}

/** Register the proxy's metrics on `registry`, read from `stats` and `routes()` at scrape time. */
export function registerProxyMetrics(registry: Registry, stats: ProxyStats, routes: () => number): void {
  const reported = new Float64Array(5);
  new Counter({
    name: 'jetplane_proxy_requests_total',
    help: 'Proxied requests by response status class (including the proxy\'s own error answers)',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      for (let i = 0; i < 5; i++) {
        const delta = stats.responses[i]! - reported[i]!;
        if (delta > 0) this.inc({ code: CLASSES[i] }, delta);
        reported[i] = stats.responses[i]!;
      }
    },
  });
  new Gauge({
    name: 'jetplane_proxy_routes',
    help: 'Token routes known to this proxy',
    registers: [registry],
    collect() {
      this.set(routes());
    },
  });
  new Gauge({
    name: 'jetplane_proxy_open_websockets',
    help: 'Upgraded (WebSocket) connections open right now',
    registers: [registry],
    collect() {
      this.set(stats.openTunnels);
    },
  });
}
