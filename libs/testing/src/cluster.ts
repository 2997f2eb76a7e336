/**
 * A whole JetPlane on loopback for one test file: nats-server, a controller, N drones and a proxy,
 * each a real `jetplane` process, plus request helpers that speak the public surface.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BACKEND_STATUSES,
  newDroneName,
  statusRank,
  type BackendStatus,
  type ConnectResponse,
  type StatusEntry,
  type ApiErrorBody,
} from '@jetplane/protocol';
import { freePort } from './ports.js';
import { startNatsCluster, startNatsServer, type NatsCluster, type NatsServer } from './nats-server.js';
import { REPO_ROOT, startComponent, type ExitInfo, type LogLine, type ManagedProcess } from './processes.js';
import { getJson, httpRequest, postJson, type HttpRequestOptions, type HttpResponse } from './http.js';
import { openInspector, type Inspector } from './jetstream.js';
import { StopWaiting, waitFor } from './wait.js';

/** The example backend: answers `{path, method, headers, env}`, `/exit/<code>`, a WebSocket at `/ws`. */
export const ECHO_SERVER_PATH = join(REPO_ROOT, 'examples', 'echo-backend', 'server.js');

export interface ProcessExecutableSpec {
  command: string[];
  env: Record<string, string>;
}

/** A process executable running the echo backend under this Node. */
export function echoExecutable(extraEnv: Record<string, string> = {}): ProcessExecutableSpec {
  return { command: [process.execPath, ECHO_SERVER_PATH], env: { ...extraEnv } };
}

/** What the echo backend answers to a plain HTTP request. */
export interface EchoReply {
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  env: Record<string, string | undefined>;
}

export interface JetPlaneOptions {
  /** Number of drones (default 1). */
  drones?: number;
  /** Number of controllers (default 1); several share the NATS queue group and the KV state. */
  controllers?: number;
  /** nats-server nodes (default 1); with more, a cluster is started and components get every URL and `--nats-replicas <n>`. */
  natsNodes?: number;
  /** Pool of drone i (default: no `--pool`). */
  pools?: Array<string | undefined>;
  /** `--executor` for every drone (default `process`). */
  executor?: string;
  controllerArgs?: string[];
  droneArgs?: string[];
  proxyArgs?: string[];
  /** Extra environment for every component. */
  env?: Record<string, string>;
  /** Mirror component logs on stderr (also `JETPLANE_TEST_LOGS=1`). */
  echo?: boolean;
  /** Deadline for the whole start (ms, default 45 s). */
  timeoutMs?: number;
}

export interface DroneHandle {
  name: string;
  pool: string | undefined;
  proc: ManagedProcess;
  healthPort: number;
  healthUrl: string;
}

export interface ApiResult<T> {
  status: number;
  body: T;
}

export interface JetPlaneEnv {
  /** The single nats-server (undefined with `natsNodes` > 1). */
  nats: NatsServer | undefined;
  /** The nats-server cluster (with `natsNodes` > 1). */
  natsCluster: NatsCluster | undefined;
  /** The `--nats` value components got (comma-separated for a cluster). */
  natsUrl: string;
  /** The public cluster name, `localhost:<proxyPort>`. */
  cluster: string;
  /** The first controller. */
  controller: ManagedProcess;
  /** `http://127.0.0.1:<port>` of the first controller. */
  controllerUrl: string;
  controllers: ManagedProcess[];
  controllerUrls: string[];
  proxy: ManagedProcess;
  proxyPort: number;
  /** `http://127.0.0.1:<proxyPort>` (send `Host: <cluster>`). */
  proxyUrl: string;
  proxyHealthUrl: string;
  drones: DroneHandle[];
  /** Exit of every component stopped by `teardown` (or earlier by a test). */
  exits: Map<string, ExitInfo>;
  /** `{cluster, executable: echoExecutable(env)}` plus `extra`. */
  spawnConfig(extra?: Record<string, unknown>, env?: Record<string, string>): Record<string, unknown>;
  /** `POST /ctrl/connect` on the first controller. */
  connect(body: unknown): Promise<ApiResult<ConnectResponse & ApiErrorBody>>;
  /** `POST /ctrl/connect` on controller `index`. */
  connectVia(index: number, body: unknown): Promise<ApiResult<ConnectResponse & ApiErrorBody>>;
  /** `POST /ctrl/connect`, failing unless it answers 200. */
  connectOk(body: unknown): Promise<ConnectResponse>;
  /** `GET /pub/b/:id/status`. */
  status(backendId: string): Promise<ApiResult<StatusEntry & ApiErrorBody>>;
  /**
   * Poll the status until it is `status`; rejects early when the backend has moved past it
   * (e.g. terminated while waiting for ready), and after `timeoutMs`.
   */
  waitForStatus(backendId: string, status: BackendStatus, timeoutMs?: number): Promise<StatusEntry>;
  /** A request through the proxy to `/<token><path>` with `Host: <cluster>`. */
  proxyRequest(token: string, path: string, opts?: HttpRequestOptions): Promise<HttpResponse>;
  /** Until the proxy refuses `token` (404 unknown, 410 backend gone); the refusal. */
  waitForTokenRefused(token: string, timeoutMs?: number): Promise<HttpResponse>;
  /** A proxied request to the echo backend, parsed; fails unless 200. */
  echo(token: string, path?: string, headers?: Record<string, string>): Promise<EchoReply>;
  /** `POST /ctrl/c/:cluster/b/:id/<kind>-terminate` (form `cluster`) or `/ctrl/b/:id/<kind>-terminate` (form `short`), no body. */
  terminate(backendId: string, kind: 'soft' | 'hard', form?: 'cluster' | 'short'): Promise<HttpResponse>;
  /** Backend output lines the drones logged for `backendId` (marked `{"backend_id", "stream"}`). */
  backendOutput(backendId: string): LogLine[];
  /** The first backend output line of `backendId` containing `text`, on any drone. */
  waitForBackendOutput(backendId: string, text: string, timeoutMs?: number): Promise<LogLine>;
  /** connect + wait until ready: the usual first step of a test. */
  spawnReady(body: unknown, timeoutMs?: number): Promise<ConnectResponse>;
  /**
   * Stop the proxy (`signal`: SIGKILL by default, SIGTERM for a graceful stop) and start it again
   * with the same arguments; resolves when the new one is ready.
   */
  restartProxy(signal?: NodeJS.Signals): Promise<ManagedProcess>;
  /** Same for controller `index` (same port). */
  restartController(index?: number, signal?: NodeJS.Signals): Promise<ManagedProcess>;
  /** Same for drone `index` (same name, pool and health port). */
  restartDrone(index?: number, signal?: NodeJS.Signals): Promise<ManagedProcess>;
  /** The last `max` log lines of every component that mention `text` (e.g. a backend id), for failure messages. */
  logsAbout(text: string, max?: number): string;
  /** Resolves once every controller lists the named drones as healthy and ready. */
  waitForDrones(names: string[]): Promise<void>;
  /** Start one more component of this environment, with extra arguments (registered for teardown). */
  startExtra(kind: 'controller' | 'drone' | 'proxy', args: string[], name?: string): Promise<ManagedProcess>;
  /** A JetStream inspector on this environment's NATS (opened once, closed by `teardown`). */
  inspector(): Promise<Inspector>;
  /** Stop everything (components SIGTERM then SIGKILL, NATS, temp dirs). Safe to call twice. */
  teardown(): Promise<void>;
}

/** A drone log line carrying a backend's stdout/stderr: `{"backend_id": id, "stream": "stdout"|"stderr", ...}`. */
export function isBackendOutput(line: LogLine, backendId?: string): boolean {
  const j = line.json;
  if (!j || (j.stream !== 'stdout' && j.stream !== 'stderr')) return false;
  return backendId === undefined ? typeof j.backend_id === 'string' : j.backend_id === backendId;
}

/** Unwrap a listing answered either as an array or as `{ <name>: [...] }`. */
export function listOf<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    const arrays = Object.values(body).filter(Array.isArray);
    if (arrays.length === 1) return arrays[0] as T[];
  }
  throw new Error(`expected a JSON list, got ${JSON.stringify(body).slice(0, 300)}`);
}

/** A component's launch recipe, kept so it can be restarted identically. */
interface Launch {
  kind: 'controller' | 'drone' | 'proxy';
  name: string;
  args: string[];
}

/**
 * Start nats-server, a controller, `drones` drones and a proxy; resolves when all are ready and
 * every drone is schedulable. A start that failed because a picked port was taken meanwhile
 * (EADDRINUSE) is retried from scratch with new ports, at most twice.
 */
export async function startJetPlane(opts: JetPlaneOptions = {}): Promise<JetPlaneEnv> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startJetPlaneOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startJetPlaneOnce(opts: JetPlaneOptions): Promise<JetPlaneEnv> {
  const timeoutMs = opts.timeoutMs ?? 45_000;
  const started: ManagedProcess[] = [];
  let nats: NatsServer | undefined;
  let natsCluster: NatsCluster | undefined;
  const cleanupPartial = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop(3_000)));
    await nats?.stop();
    await natsCluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  const echo = opts.echo === undefined ? {} : { echo: opts.echo };
  // Components (and the backends they start) put temporary files here (TMPDIR): drone state
  // directories do not pile up in /tmp, and a drone restarted under its name finds its own.
  const workDir = mkdtempSync(join(tmpdir(), 'jetplane-e2e-'));
  const env = { TMPDIR: workDir, ...opts.env };
  const launch = async (l: Launch): Promise<ManagedProcess> => {
    const proc = await startComponent(l.kind, l.args, env, { name: l.name, timeoutMs, ...echo });
    started.push(proc);
    return proc;
  };
  try {
    const natsNodes = opts.natsNodes ?? 1;
    let natsUrl: string;
    const replicaArgs: string[] = [];
    if (natsNodes > 1) {
      natsCluster = await startNatsCluster(natsNodes, echo);
      natsUrl = natsCluster.urls;
      replicaArgs.push('--nats-replicas', String(Math.min(natsNodes, 3)));
    } else {
      nats = await startNatsServer({ jetstream: true, ...echo });
      natsUrl = nats.url;
    }
    const [proxyPort, proxyHealthPort] = [await freePort(), await freePort()];
    const cluster = `localhost:${proxyPort}`;

    // Controllers first, one at a time: the first one creates the streams and buckets.
    const controllerLaunches: Launch[] = [];
    const controllers: ManagedProcess[] = [];
    const controllerUrls: string[] = [];
    for (let i = 0; i < (opts.controllers ?? 1); i++) {
      const port = await freePort();
      const l: Launch = {
        kind: 'controller',
        name: `controller${i === 0 ? '' : String(i + 1)}`,
        args: ['--nats', natsUrl, '--host', '127.0.0.1', '--port', String(port), '--default-cluster', cluster, ...replicaArgs, ...(opts.controllerArgs ?? [])],
      };
      controllerLaunches.push(l);
      controllers.push(await launch(l));
      controllerUrls.push(`http://127.0.0.1:${port}`);
    }

    const droneSpecs = await Promise.all(
      Array.from({ length: opts.drones ?? 1 }, async (_, i) => ({ name: newDroneName(), pool: opts.pools?.[i], healthPort: await freePort() })),
    );
    const droneLaunches: Launch[] = droneSpecs.map((spec) => ({
      kind: 'drone',
      name: `drone ${spec.name}`,
      args: [
        '--nats', natsUrl, '--cluster', cluster, '--name', spec.name, '--executor', opts.executor ?? 'process',
        '--health-port', String(spec.healthPort),
        ...(spec.pool === undefined ? [] : ['--pool', spec.pool]),
        ...replicaArgs,
        ...(opts.droneArgs ?? []),
      ],
    }));
    const proxyLaunch: Launch = {
      kind: 'proxy',
      name: 'proxy',
      args: ['--nats', natsUrl, '--cluster', cluster, '--host', '127.0.0.1', '--port', String(proxyPort), '--health-port', String(proxyHealthPort), ...replicaArgs, ...(opts.proxyArgs ?? [])],
    };
    const [droneProcs, proxy] = await Promise.all([Promise.all(droneLaunches.map(launch)), launch(proxyLaunch)]);
    const drones: DroneHandle[] = droneSpecs.map((spec, i) => ({ ...spec, proc: droneProcs[i]!, healthUrl: `http://127.0.0.1:${spec.healthPort}` }));

    await waitForDrones(controllerUrls, drones.map((d) => d.name), timeoutMs);

    return makeEnv(
      { nats, natsCluster, natsUrl, cluster, controller: controllers[0]!, controllerUrl: controllerUrls[0]!, controllers, controllerUrls, proxy, proxyPort, proxyHealthPort, drones },
      { controllers: controllerLaunches, drones: droneLaunches, proxy: proxyLaunch, launch, timeoutMs, workDir },
    );
  } catch (err) {
    await cleanupPartial();
    throw err;
  }
}

/** "ready" on a drone means registered; wait until every controller also lists it as usable. */
async function waitForDrones(controllerUrls: string[], names: string[], timeoutMs: number): Promise<void> {
  await Promise.all(
    controllerUrls.map((url) =>
      waitFor(
        async () => {
          const res = await getJson(`${url}/ctrl/drones`);
          if (res.status !== 200) return undefined;
          const listed = listOf<{ name: string; healthy?: boolean; state?: string }>(res.body);
          return names.every((n) => listed.some((x) => x.name === n && x.healthy !== false && (x.state ?? 'ready') === 'ready')) || undefined;
        },
        { timeoutMs, intervalMs: 100, description: `GET ${url}/ctrl/drones listing drones ${names.join(', ')} as healthy` },
      ),
    ),
  );
}

interface Launches {
  controllers: Launch[];
  drones: Launch[];
  proxy: Launch;
  launch(l: Launch): Promise<ManagedProcess>;
  timeoutMs: number;
  workDir: string;
}

/** What the start-up hands to {@link makeEnv}: the environment's plain parts, plus the proxy's health port. */
type EnvParts = Pick<
  JetPlaneEnv,
  'nats' | 'natsCluster' | 'natsUrl' | 'cluster' | 'controller' | 'controllerUrl' | 'controllers' | 'controllerUrls' | 'proxy' | 'proxyPort' | 'drones'
> & { proxyHealthPort: number };

function makeEnv(p: EnvParts, launches: Launches): JetPlaneEnv {
  let inspector: Promise<Inspector> | undefined;
  let tornDown: Promise<void> | undefined;
  const exits = new Map<string, ExitInfo>();
  const proxyUrl = `http://127.0.0.1:${p.proxyPort}`;
  /** Every drone process ever started here (restarts included), for backend output. */
  const allDroneProcs: ManagedProcess[] = p.drones.map((d) => d.proc);
  /** Components started with `startExtra`. */
  const extras: ManagedProcess[] = [];
  const replace = async (old: ManagedProcess, l: Launch, signal: NodeJS.Signals): Promise<ManagedProcess> => {
    if (signal === 'SIGTERM' || signal === 'SIGINT') exits.set(l.name, await old.stop(15_000, signal));
    else {
      old.kill(signal);
      exits.set(l.name, await old.waitForExit(10_000));
    }
    return launches.launch(l);
  };

  const env: JetPlaneEnv = {
    ...p,
    proxyUrl,
    proxyHealthUrl: `http://127.0.0.1:${p.proxyHealthPort}`,
    exits,
    spawnConfig(extra = {}, execEnv = {}) {
      return { cluster: p.cluster, executable: echoExecutable(execEnv), ...extra };
    },
    connect(body) {
      return env.connectVia(0, body);
    },
    async connectVia(index, body) {
      const url = p.controllerUrls[index];
      if (!url) throw new Error(`no controller #${index}`);
      const res = await postJson<ConnectResponse & ApiErrorBody>(`${url}/ctrl/connect`, body);
      return { status: res.status, body: res.body };
    },
    async connectOk(body) {
      const res = await env.connect(body);
      if (res.status !== 200) throw new Error(`connect answered HTTP ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async status(backendId) {
      const res = await getJson<StatusEntry & ApiErrorBody>(`${p.controllerUrl}/pub/b/${encodeURIComponent(backendId)}/status`);
      return res;
    },
    async waitForStatus(backendId, status, timeoutMs = 20_000) {
      let last: unknown;
      return waitFor(
        async () => {
          const res = await env.status(backendId);
          last = res.body;
          if (res.status !== 200) return undefined;
          const current = res.body.status;
          if (current === status) return res.body;
          if (BACKEND_STATUSES.includes(current) && statusRank(current) > statusRank(status)) {
            throw new StopWaiting(`backend ${backendId} moved past ${status}: ${JSON.stringify(res.body)}`);
          }
          return undefined;
        },
        { timeoutMs, intervalMs: 100, description: `backend ${backendId} status ${status}` },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message} (last status: ${JSON.stringify(last)})\n${env.logsAbout(backendId)}`);
      });
    },
    proxyRequest(token, path, opts = {}) {
      return httpRequest(`${proxyUrl}/${token}${path}`, { ...opts, headers: { Host: p.cluster, ...opts.headers } });
    },
    waitForTokenRefused(token, timeoutMs = 10_000) {
      return waitFor(
        async () => {
          const r = await env.proxyRequest(token, '/');
          return r.status === 404 || r.status === 410 ? r : undefined;
        },
        { timeoutMs, description: 'the proxy to refuse the token with 404/410' },
      );
    },
    async echo(token, path = '/', headers = {}) {
      const res = await env.proxyRequest(token, path, { headers });
      if (res.status !== 200) throw new Error(`proxied GET /${token.slice(0, 6)}…${path} answered HTTP ${res.status}: ${res.body.slice(0, 300)}`);
      return JSON.parse(res.body) as EchoReply;
    },
    terminate(backendId, kind, form = 'cluster') {
      const path =
        form === 'cluster'
          ? `/ctrl/c/${encodeURIComponent(p.cluster)}/b/${encodeURIComponent(backendId)}/${kind}-terminate`
          : `/ctrl/b/${encodeURIComponent(backendId)}/${kind}-terminate`;
      return httpRequest(`${p.controllerUrl}${path}`, { method: 'POST' });
    },
    backendOutput(backendId) {
      return allDroneProcs.flatMap((proc) => proc.findLogs((l) => isBackendOutput(l, backendId)));
    },
    waitForBackendOutput(backendId, text, timeoutMs = 10_000) {
      const found = env.backendOutput(backendId).find((l) => l.raw.includes(text));
      if (found) return Promise.resolve(found);
      return Promise.any(
        env.drones.filter((d) => d.proc.running).map((d) => d.proc.waitForLog((l) => isBackendOutput(l, backendId) && l.raw.includes(text), timeoutMs, `backend ${backendId} output "${text}"`)),
      ).catch((err: unknown) => {
        const errors = err instanceof AggregateError ? err.errors : [err];
        throw new Error(errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('\n'));
      });
    },
    async spawnReady(body, timeoutMs = 20_000) {
      const res = await env.connectOk(body);
      await env.waitForStatus(res.backend_id, 'ready', timeoutMs);
      return res;
    },
    async restartProxy(signal = 'SIGKILL') {
      env.proxy = await replace(env.proxy, launches.proxy, signal);
      return env.proxy;
    },
    async restartController(index = 0, signal = 'SIGKILL') {
      const l = launches.controllers[index];
      if (!l) throw new Error(`no controller #${index}`);
      const proc = await replace(env.controllers[index]!, l, signal);
      env.controllers[index] = proc;
      if (index === 0) env.controller = proc;
      return proc;
    },
    async restartDrone(index = 0, signal = 'SIGKILL') {
      const l = launches.drones[index];
      const drone = env.drones[index];
      if (!l || !drone) throw new Error(`no drone #${index}`);
      drone.proc = await replace(drone.proc, l, signal);
      allDroneProcs.push(drone.proc);
      await waitForDrones(env.controllerUrls, [drone.name], launches.timeoutMs);
      return drone.proc;
    },
    logsAbout(text, max = 20) {
      const procs = [...env.controllers, env.proxy, ...allDroneProcs, ...extras];
      const lines = procs.flatMap((proc) => proc.findLogs((l) => l.raw.includes(text)).map((l) => ({ at: l.at, text: `[${proc.name}] ${l.raw.slice(0, 400)}` })));
      lines.sort((a, b) => a.at - b.at);
      return lines.length === 0 ? `(no component logged "${text}")` : `component logs mentioning ${text}:\n${lines.slice(-max).map((l) => `  ${l.text}`).join('\n')}`;
    },
    waitForDrones(names) {
      return waitForDrones(env.controllerUrls, names, launches.timeoutMs);
    },
    async startExtra(kind, args, name = `${kind} (extra)`) {
      const proc = await launches.launch({ kind, name, args });
      extras.push(proc);
      if (kind === 'drone') allDroneProcs.push(proc);
      return proc;
    },
    inspector() {
      inspector ??= openInspector(p.natsUrl, p.natsCluster ? Math.min(p.natsCluster.nodes.length, 3) : 1);
      return inspector;
    },
    teardown() {
      tornDown ??= (async () => {
        if (inspector) await (await inspector.catch(() => undefined))?.close().catch(() => undefined);
        const stop = async (name: string, proc: ManagedProcess): Promise<void> => {
          exits.set(name, await proc.stop(5_000));
        };
        await Promise.all([stop('proxy', env.proxy), ...extras.filter((x) => x.name.startsWith('proxy')).map((x) => stop(x.name, x))]);
        await Promise.all([...env.drones.map((d) => stop(d.name, d.proc)), ...extras.filter((x) => x.name.startsWith('drone')).map((x) => stop(x.name, x))]);
        await Promise.all([...env.controllers.map((c, i) => stop(i === 0 ? 'controller' : `controller${i + 1}`, c)), ...extras.map((x) => stop(x.name, x))]);
        await p.nats?.stop();
        await p.natsCluster?.stop();
        rmSync(launches.workDir, { recursive: true, force: true });
      })();
      return tornDown;
    },
  };
  return env;
}
