/**
 * Helpers for the lifecycle / HA end-to-end files (lifecycle-*.test.ts, ha-*.test.ts): short timing for
 * every component, WebSockets through the proxy, liveness, processes by backend id, a NATS cluster whose
 * nodes do not advertise each other (so a component given one node cannot fail over to another), and
 * recording of measured recovery times.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { BackendLiveness, Timing } from '@jetplane/protocol';
import { connectNats } from '@jetplane/nats';
import { echoExecutable, freePort, getJson, isPortOpen, spawnManaged, natsServerBinary, waitFor, withTimeout, type JetPlaneEnv, type ManagedProcess } from '@jetplane/testing';

/**
 * Every lifecycle constant shortened ~10x, keeping Timing's invariants: heartbeat 0.5 s, unhealthy 2 s,
 * lost 4 s (drones fence themselves at 3.5 s), lease renew 1 s / soft 2.5 s / hard 3.5 s / expiry 5 s,
 * activity reports every 0.5 s, sweeps every 0.25 s, soft-terminate grace 2 s.
 */
export const FAST_TIMING: Partial<Timing> = {
  heartbeatIntervalMs: 500,
  droneUnhealthyAfterMs: 2_000,
  droneLostAfterMs: 4_000,
  keyRenewAfterMs: 1_000,
  keySoftTerminateAfterMs: 2_500,
  keyHardTerminateAfterMs: 3_500,
  keyExpirationMs: 5_000,
  keyRenewRetryMs: 250,
  activityReportIntervalMs: 500,
  sweepIntervalMs: 250,
  softTerminateGraceMs: 2_000,
};

/** A `spawn_config` running the echo backend on `cluster` (for environments not built by `startJetPlane`). */
export function echoSpawn(cluster: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cluster, executable: echoExecutable(), ...extra };
}

/** `JETPLANE_TIMING` for every component of a `startJetPlane` environment. */
export function timingEnv(timing: Partial<Timing> = FAST_TIMING): Record<string, string> {
  return { JETPLANE_TIMING: JSON.stringify(timing) };
}

/** A WebSocket through the proxy to the echo backend; resolves once its hello arrived. */
export async function openWs(jp: Pick<JetPlaneEnv, 'proxyUrl' | 'cluster'>, token: string, path = '/ws'): Promise<WebSocket> {
  const ws = new WebSocket(`${jp.proxyUrl.replace('http', 'ws')}/${token}${path}`, { headers: { Host: jp.cluster }, handshakeTimeout: 10_000 });
  ws.on('error', () => undefined);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    }),
    10_000,
    'the WebSocket hello',
  );
  return ws;
}

export async function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.close();
  await withTimeout(closed, 5_000, 'the WebSocket to close').catch(() => ws.terminate());
}

/** `GET /ctrl/b/:id/liveness` on `controllerUrl`. */
export async function liveness(controllerUrl: string, backendId: string): Promise<{ status: number; body: BackendLiveness & { kind?: string } }> {
  const res = await getJson<BackendLiveness & { kind?: string }>(`${controllerUrl}/ctrl/b/${encodeURIComponent(backendId)}/liveness`);
  return { status: res.status, body: res.body };
}

/** Pids of live processes whose environment holds `SESSION_BACKEND_ID=<id>` (the backend and its children). */
export function backendPids(backendId: string): number[] {
  const marker = `SESSION_BACKEND_ID=${backendId}`;
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // a zombie is not running
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker)) pids.push(Number(pid));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

// ---- measurements -------------------------------------------------------------------------------

const MEASURE_DIR = join(tmpdir(), 'jetplane-measurements');

/** Record a measured duration: printed (`[measure] …`) and appended to `<tmpdir>/jetplane-measurements/<file>.jsonl`. */
export function recordMeasurement(file: string, name: string, ms: number, extra: Record<string, unknown> = {}): void {
  const line = { name, ms: Math.round(ms), ...extra, at: new Date().toISOString() };
  console.log(`[measure] ${name}: ${line.ms} ms ${Object.keys(extra).length ? JSON.stringify(extra) : ''}`);
  try {
    mkdirSync(MEASURE_DIR, { recursive: true });
    appendFileSync(join(MEASURE_DIR, `${file}.jsonl`), JSON.stringify(line) + '\n');
  } catch {
    // measuring must never fail a test
  }
}

// ---- a NATS cluster without route advertisement ---------------------------------------------------

export interface PinnedNode {
  name: string;
  url: string;
  port: number;
  monitorPort: number;
  proc: ManagedProcess | undefined;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface PinnedCluster {
  nodes: PinnedNode[];
  /** Every node's URL, comma-separated. */
  urls: string;
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A 3-node JetStream cluster on loopback whose nodes do not advertise client URLs (`no_advertise`), so a
 * client given one node stays on that node: killing or pausing it cuts that client off from NATS while
 * the other two keep quorum.
 */
export async function startPinnedNatsCluster(n = 3): Promise<PinnedCluster> {
  const bin = natsServerBinary();
  const dir = join(tmpdir(), `jetplane-pinned-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const specs: Array<{ name: string; port: number; clusterPort: number; monitorPort: number; conf: string; store: string }> = [];
  for (let i = 1; i <= n; i++) {
    specs.push({ name: `p${i}`, port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort(), conf: join(dir, `p${i}.conf`), store: join(dir, `p${i}`) });
  }
  for (const s of specs) {
    const routes = specs.filter((o) => o !== s).map((o) => `    "nats-route://127.0.0.1:${o.clusterPort}"`);
    writeFileSync(
      s.conf,
      [
        `server_name: ${s.name}`,
        `listen: "127.0.0.1:${s.port}"`,
        `http: "127.0.0.1:${s.monitorPort}"`,
        `jetstream { store_dir: "${s.store}" }`,
        `cluster {`,
        `  name: jp-pinned-${process.pid}`,
        `  listen: "127.0.0.1:${s.clusterPort}"`,
        `  no_advertise: true`,
        `  routes: [`,
        routes.join('\n'),
        `  ]`,
        `}`,
        '',
      ].join('\n'),
    );
  }
  const nodes: PinnedNode[] = specs.map((s) => {
    const node: PinnedNode = {
      name: s.name,
      url: `nats://127.0.0.1:${s.port}`,
      port: s.port,
      monitorPort: s.monitorPort,
      proc: undefined,
      async start() {
        node.proc = spawnManaged(`nats-${s.name}`, bin, ['-c', s.conf]);
        await waitFor(async () => (await isPortOpen(s.port)) || undefined, { timeoutMs: 20_000, intervalMs: 50, description: `nats ${s.name} listening` });
      },
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        const proc = node.proc;
        if (!proc) return;
        proc.kill(signal);
        if (signal === 'SIGKILL' || signal === 'SIGTERM') {
          await proc.waitForExit(5_000).catch(() => undefined);
          node.proc = undefined;
        }
      },
    };
    return node;
  });
  const cluster: PinnedCluster = {
    nodes,
    urls: nodes.map((x) => x.url).join(','),
    async waitForMetaLeader(timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const running = nodes.filter((x) => x.proc?.running);
          const leaders = await Promise.all(
            running.map(async (x) => {
              const res = await fetch(`http://127.0.0.1:${x.monitorPort}/jsz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
              if (!res?.ok) return '';
              return ((await res.json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader ?? '';
            }),
          );
          return leaders.length > 0 && leaders[0] && leaders.every((l) => l === leaders[0]) ? leaders[0] : undefined;
        },
        { timeoutMs, intervalMs: 200, description: 'a JetStream meta leader' },
      );
    },
    async stop() {
      for (const node of nodes) {
        node.proc?.kill('SIGCONT');
        await node.proc?.stop(3_000);
        node.proc = undefined;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await Promise.all(nodes.map((x) => x.start()));
  await cluster.waitForMetaLeader();
  return cluster;
}

/**
 * Move every JetStream stream leader and replicated consumer leader off `node` (leader step-downs), so
 * that killing `node` cuts off the clients connected to it without a JetStream fail-over for the others.
 * Single-replica consumers (KV watches) cannot move; watches re-open by themselves.
 */
export async function moveLeadersOff(urls: string[], node: string, timeoutMs = 30_000): Promise<void> {
  const nats = await connectNats({ servers: urls, name: 'jetplane-e2e-stepdown' });
  const api = async <T>(subject: string): Promise<T> => JSON.parse((await nats.nc.request(subject, '', { timeout: 5_000 })).string()) as T;
  try {
    await waitFor(
      async () => {
        let onNode = 0;
        const { streams } = await api<{ streams: string[] | null }>('$JS.API.STREAM.NAMES');
        for (const stream of streams ?? []) {
          const info = await api<{ cluster?: { leader?: string } }>(`$JS.API.STREAM.INFO.${stream}`);
          if (info.cluster?.leader === node) {
            onNode++;
            await api(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`).catch(() => undefined);
          }
          const { consumers } = await api<{ consumers: string[] | null }>(`$JS.API.CONSUMER.NAMES.${stream}`);
          for (const consumer of consumers ?? []) {
            const ci = await api<{ config?: { num_replicas?: number }; cluster?: { leader?: string; replicas?: unknown[] } }>(`$JS.API.CONSUMER.INFO.${stream}.${consumer}`).catch(() => undefined);
            if (!ci || ci.cluster?.leader !== node || (ci.cluster.replicas ?? []).length === 0) continue;
            onNode++;
            await api(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer}`).catch(() => undefined);
          }
        }
        return onNode === 0 || undefined;
      },
      { timeoutMs, intervalMs: 500, description: `every stream and replicated consumer leader off ${node}` },
    );
  } finally {
    await nats.close();
  }
}
