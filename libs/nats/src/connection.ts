/** The one place that opens NATS connections: reconnect forever, tracked health. */
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsOptions {
  /** Server URLs (a cluster is a list). */
  servers: string[];
  /** Connection name shown by the server (`jetplane-drone dr-…`). */
  name: string;
}

/** A connection plus a cheap, synchronous view of whether it is currently connected. */
export interface NatsHandle {
  nc: NatsConnection;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Parse `--nats` (comma-separated URLs) into a server list. */
export function parseServers(value: string): string[] {
  const servers = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new Error('no NATS server URL given');
  return servers;
}

export async function connectNats(opts: NatsOptions): Promise<NatsHandle> {
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    // Components outlive NATS outages: never give up, start even when the first server is down.
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    // Otherwise every request (each KV read and write) captures a stack trace up front in case it
    // fails: measured at 35–45 % of the controller's CPU per connect. Our errors carry their own context.
    // (patches/@nats-io+nats-core+*.patch removes the other per-request Error, built after success.)
    noAsyncTraces: true,
  });
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') connected = false;
      else if (s.type === 'reconnect') connected = true;
      else if (s.type === 'close') connected = false;
    }
  })();
  return {
    nc,
    isConnected: () => connected && !nc.isClosed(),
    close: async () => {
      if (nc.isClosed()) return;
      await nc.drain().catch(() => nc.close());
    },
  };
}
