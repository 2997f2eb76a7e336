/** Wiring: open JetStream, follow drones and backends, serve HTTP and NATS, and stop it all in order. */
import { newControllerName } from '@jetplane/protocol';
import { openJetPlane } from '@jetplane/nats';
import { resolvePublicUrl, resolveTiming, type ControllerConfig } from './config.js';
import { DroneDirectory, followDrones } from './drone-directory.js';
import { buildHttpServer } from './http-server.js';
import { followBackends } from './listings.js';
import { createControllerMetrics, registerBackendUsageMetrics } from './metrics.js';
import { startNatsHandlers } from './nats-handlers.js';
import { createControllerApi } from './service.js';
import { StatsView, followStats } from './stats-view.js';
import { Fencing } from './fencing.js';
import { KeyLeaseView, followKeys } from './key-leases.js';
import { LiveBackendIndex, startReaper } from './reaper.js';

export interface RunningController {
  /** Where the HTTP API listens (`http://host:port`, actual port). */
  url: string;
  /** Controller name (`co-…`), also the NATS connection name suffix. */
  name: string;
  close(): Promise<void>;
}

export async function startController(config: ControllerConfig): Promise<RunningController> {
  const timing = resolveTiming(config.timing);
  const name = newControllerName();
  const log = config.logger.child({ controller: name });
  const jp = await openJetPlane({ servers: config.servers, name: `jetplane-controller ${name}`, replicas: config.replicas });
  const stops: Array<() => Promise<void> | void> = [() => jp.close()];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((err: unknown) => log.warn({ err }, 'error while stopping'));
    }
  };

  try {
    const stats = new StatsView();
    // A BackendView that also indexes live backends by drone, for the lost-drone sweep and admission.
    const backendView = new LiveBackendIndex(stats);
    const directory = new DroneDirectory({
      unhealthyAfterMs: timing.droneUnhealthyAfterMs,
      retryAfterSeconds: Math.max(1, Math.ceil(timing.heartbeatIntervalMs / 1000)),
      liveBackends: (drone) => backendView.liveCount(drone),
    });
    const droneWatch = await followDrones(jp.streams.drones, directory, log);
    stops.push(() => droneWatch.stop());
    const backendWatch = await followBackends(jp.streams.backends, backendView, log);
    stops.push(() => backendWatch.stop());
    const statsFollow = await followStats(jp, stats);
    stops.push(() => statsFollow.stop());
    // Scheduling before the drone registry is loaded would answer NoDroneAvailable for live drones.
    await Promise.all([droneWatch.caughtUp, backendWatch.caughtUp]);
    // Key leases as this controller sees them (dated by its own clock), and who may take a key over.
    const leases = new KeyLeaseView(timing.keyExpirationMs);
    const keyWatch = await followKeys(jp.streams.keys, leases, log);
    stops.push(() => keyWatch.stop());
    await keyWatch.caughtUp;
    const fencing = new Fencing({
      keys: jp.keys,
      backends: jp.backends,
      tokens: jp.tokens,
      drones: jp.drones,
      events: jp.events,
      directory,
      leases,
      timing,
      log,
    });

    let publicUrl = '';
    const metrics = createControllerMetrics();
    registerBackendUsageMetrics(metrics, () =>
      stats.ids().flatMap((id) => {
        const record = backendView.get(id);
        const usage = stats.get(id);
        if (!record || !usage || record.state.status === 'terminated') return [];
        return [{ backend_id: id, drone: record.drone, ...usage }];
      }),
    );
    const api = createControllerApi({
      jp,
      directory,
      backendView,
      log,
      stats,
      livenessTimeoutMs: timing.droneInspectTimeoutMs,
      connectDeps: {
        keys: jp.keys,
        backends: jp.backends,
        tokens: jp.tokens,
        events: jp.events,
        work: jp.work,
        directory,
        log,
        timing,
        fencing,
        holderOf: (namespace, name) => leases.get(namespace, name)?.backendId,
        publicUrl: () => publicUrl,
        ...(config.defaultCluster ? { defaultCluster: config.defaultCluster } : {}),
      },
    });

    const http = buildHttpServer({ api, metrics, log });
    stops.push(() => http.close());
    await http.app.listen({ host: config.host, port: config.port });
    const address = http.app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    publicUrl = resolvePublicUrl(config.publicUrl, url);

    const handlers = startNatsHandlers({ nc: jp.nc, api, metrics, log });
    stops.push(() => handlers.stop());
    // Lost drones and expired leases, swept by every controller (each step is revision-checked).
    const reaper = startReaper({ fencing, index: backendView, directory, leases, keys: jp.keys, intervalMs: timing.sweepIntervalMs, log });
    stops.push(() => reaper.stop());

    log.info({ url, public_url: publicUrl, default_cluster: config.defaultCluster ?? null }, 'ready');
    return { url, name, close };
  } catch (err) {
    await close();
    throw err;
  }
}
