/** Real `nats-server` processes (single node or a 3-node cluster) with JetStream, on loopback ports. */
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, isPortOpen } from './ports.js';
import { spawnManaged, type ExitInfo, type ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

/** `JETPLANE_NATS_SERVER_BIN`, else `nats-server` on `PATH`, else the Debian location. */
export function natsServerBinary(): string {
  const fromEnv = process.env.JETPLANE_NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
    '/usr/bin/nats-server',
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error('nats-server not found: install it (`npm run setup:nats` or `apt-get install nats-server`) or set JETPLANE_NATS_SERVER_BIN');
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Monitoring port (`/healthz`, `/jsz`, `/varz`). */
  monitorPort: number;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  proc: ManagedProcess;
  /** JetStream store directory (kept across restarts, removed by `stop`). */
  storeDir: string;
  /** Graceful stop and removal of the store directory. */
  stop(): Promise<void>;
  /** Send a signal to the server process (SIGKILL by default) without cleaning up. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo | undefined>;
}

export interface NatsServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Fixed client port (default: a free one). */
  port?: number;
  /** Store directory (default: a new temp dir, removed on stop). */
  storeDir?: string;
  /** Mirror the server's log on stderr. */
  echo?: boolean;
  /** Startup deadline (ms). */
  timeoutMs?: number;
}

async function waitForServer(proc: ManagedProcess, port: number, timeoutMs: number): Promise<void> {
  await proc.waitForLog((l) => l.raw.includes('Server is ready'), timeoutMs, 'nats-server "Server is ready"');
  await waitFor(async () => (await isPortOpen(port)) || undefined, {
    timeoutMs,
    intervalMs: 50,
    description: `nats-server accepting on 127.0.0.1:${port}`,
  });
}

/** Start one nats-server on 127.0.0.1 with JetStream, wait until it accepts connections. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerBinary();
  const port = opts.port ?? (await freePort());
  const monitorPort = await freePort();
  const ownStore = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'jetplane-nats-'));
  // The monitoring listener binds to the `-a` host (loopback) too.
  const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)];
  if (opts.jetstream !== false) args.push('-js', '-sd', storeDir);
  const proc = spawnManaged(`nats-server:${port}`, bin, args, { ...(opts.echo === undefined ? {} : { echo: opts.echo }) });
  try {
    await waitForServer(proc, port, opts.timeoutMs ?? 15_000);
  } catch (err) {
    await proc.stop(1_000);
    if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorPort,
    get pid() {
      return proc.pid;
    },
    proc,
    storeDir,
    async stop() {
      await proc.stop(5_000);
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      proc.kill(signal);
      return proc.waitForExit(5_000).catch(() => undefined);
    },
  };
}

export interface NatsClusterNode {
  name: string;
  url: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  configFile: string;
  storeDir: string;
  /** Current process; undefined while the node is stopped. */
  proc: ManagedProcess | undefined;
  /** Graceful stop (keeps the store, so `restart` resumes). */
  stop(): Promise<void>;
  /** Send a signal (SIGKILL by default) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again with the same config and store; waits until it accepts connections. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsClusterNode[];
  /** Every node's URL, comma-separated (the `--nats` form). */
  urls: string;
  /** Resolves once JetStream has a meta leader seen by every running node. */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** Stop every node and remove the temp directory. */
  stop(): Promise<void>;
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

async function fetchJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Start an `n`-node nats-server cluster (routes on free loopback ports), JetStream on every node. */
export async function startNatsCluster(n = 3, opts: { echo?: boolean; timeoutMs?: number } = {}): Promise<NatsCluster> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'jetplane-nats-cluster-'));
  const clusterName = `jp-test-${process.pid}`;
  const specs: Array<{ name: string; port: number; clusterPort: number; monitorPort: number; storeDir: string; configFile: string }> = [];
  for (let i = 1; i <= n; i++) {
    specs.push({
      name: `n${i}`,
      port: await freePort(),
      clusterPort: await freePort(),
      monitorPort: await freePort(),
      storeDir: join(dir, `n${i}`, 'store'),
      configFile: join(dir, `n${i}.conf`),
    });
  }
  for (const s of specs) {
    const routes = specs.filter((o) => o !== s).map((o) => `    "nats-route://127.0.0.1:${o.clusterPort}"`);
    const conf = [
      `server_name: ${s.name}`,
      `listen: "127.0.0.1:${s.port}"`,
      `http: "127.0.0.1:${s.monitorPort}"`,
      `jetstream {`,
      `  store_dir: "${s.storeDir}"`,
      `}`,
      `cluster {`,
      `  name: ${clusterName}`,
      `  listen: "127.0.0.1:${s.clusterPort}"`,
      `  routes: [`,
      routes.join('\n'),
      `  ]`,
      `}`,
      '',
    ].join('\n');
    writeFileSync(s.configFile, conf);
  }

  const timeoutMs = opts.timeoutMs ?? 30_000;
  const nodes: NatsClusterNode[] = specs.map((s) => {
    const node: NatsClusterNode = {
      ...s,
      url: `nats://127.0.0.1:${s.port}`,
      proc: undefined,
      async stop() {
        await node.proc?.stop(5_000);
        node.proc = undefined;
      },
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        const proc = node.proc;
        if (!proc) return;
        proc.kill(signal);
        await proc.waitForExit(5_000).catch(() => proc.stop(0, 'SIGKILL'));
        if (!proc.running) node.proc = undefined;
      },
      async restart() {
        if (node.proc?.running) await node.stop();
        const proc = spawnManaged(`nats-${s.name}:${s.port}`, bin, ['-c', s.configFile], {
          ...(opts.echo === undefined ? {} : { echo: opts.echo }),
        });
        node.proc = proc;
        await waitFor(async () => (await isPortOpen(s.port)) || undefined, {
          timeoutMs,
          intervalMs: 50,
          description: `cluster node ${s.name} accepting on 127.0.0.1:${s.port}`,
        }).catch(async (err: unknown) => {
          throw new Error(`${String(err)}\n${proc.output(40)}`);
        });
      },
    };
    return node;
  });

  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((x) => x.url).join(','),
    async waitForMetaLeader(waitMs = timeoutMs) {
      return waitFor(
        async () => {
          const running = nodes.filter((x) => x.proc?.running);
          if (running.length === 0) return undefined;
          const leaders = await Promise.all(
            running.map(async (x) => (await fetchJson<Jsz>(`http://127.0.0.1:${x.monitorPort}/jsz`)).meta_cluster?.leader ?? ''),
          );
          const first = leaders[0];
          return first && leaders.every((l) => l === first) ? first : undefined;
        },
        { timeoutMs: waitMs, intervalMs: 200, description: 'a JetStream meta leader agreed on by every running node' },
      );
    },
    async stop() {
      await Promise.all(nodes.map((x) => x.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(nodes.map((x) => x.restart()));
    await cluster.waitForMetaLeader();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
