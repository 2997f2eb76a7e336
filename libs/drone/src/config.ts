/** Drone configuration: what the caller may set, the defaults, and validation into a resolved form. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EXECUTOR_KINDS,
  Timing,
  isValidClusterName,
  isValidName,
  newDroneName,
  type ExecutorKind,
} from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import type { DockerNetworkMode } from './executors/docker-spec.js';
import { DEFAULT_BACKEND_PORTS, isValidPortRange, type PortRange } from './executors/port-pool.js';

/** Executors this build can run. */
export const AVAILABLE_EXECUTORS: readonly ExecutorKind[] = ['process', 'docker'];

export const DOCKER_NETWORK_MODES: readonly DockerNetworkMode[] = ['host', 'bridge'];

/** Settings of the docker executor (used when `executors` includes `docker`). */
export interface DockerConfig {
  /** Docker Engine socket (`/path`, `unix:///path` or `tcp://host:port`); default: `DOCKER_HOST`, else `/var/run/docker.sock`. */
  socket?: string;
  /** Base directory for `mount`; without it, mounts are skipped with a warning. */
  mountBase?: string;
  /** `host` (default): the drone's network, a drone-picked port; `bridge`: the container's own IP, port 8080. */
  networkMode?: DockerNetworkMode;
  /** A pull taking longer fails the backend. */
  pullTimeoutMs?: number;
}

export interface ResolvedDockerConfig {
  socket: string | undefined;
  mountBase: string | undefined;
  networkMode: DockerNetworkMode;
  pullTimeoutMs: number;
}

export interface DroneTiming {
  heartbeatIntervalMs: number;
  softTerminateGraceMs: number;
  startupTimeoutMs: number;
  readinessProbeIntervalMs: number;
  /**
   * Without a successful heartbeat for this long the drone kills its backends itself: the controller
   * declares it lost at `droneLostAfterMs` and lets their keys be taken again. `null` disables it.
   */
  selfFenceAfterMs: number | null;
  /** How long `close()` waits for backends to be recorded terminated before giving up. */
  closeTimeoutMs: number;
  /** Each backend's latest resource sample is published at most this often. */
  statsIntervalMs: number;
  /** At a backend's end, how long to wait for its last output to reach NATS (and the executor to deliver it). */
  outputFlushMs: number;
  /** Key lease (see `lease.ts`): renew this long after the last renewal was sent, ... */
  keyRenewAfterMs: number;
  /** ... soft-terminate (`keyexpired`) if not renewed by then, ... */
  keySoftTerminateAfterMs: number;
  /** ... hard-terminate if not renewed by then. Must stay below the controllers' `keyExpirationMs`. */
  keyHardTerminateAfterMs: number;
  /** A failed renewal is retried this often. */
  keyRenewRetryMs: number;
  /** Idle and lifetime checks run this often. */
  sweepIntervalMs: number;
}

export const DEFAULT_DRONE_TIMING: Readonly<DroneTiming> = Object.freeze({
  heartbeatIntervalMs: Timing.heartbeatIntervalMs,
  softTerminateGraceMs: Timing.softTerminateGraceMs,
  startupTimeoutMs: Timing.startupTimeoutMs,
  readinessProbeIntervalMs: Timing.readinessProbeIntervalMs,
  // One heartbeat earlier than the controller's verdict, so the backends are gone before their keys free up.
  selfFenceAfterMs: Timing.droneLostAfterMs - Timing.heartbeatIntervalMs,
  closeTimeoutMs: 10_000,
  statsIntervalMs: Timing.backendStatsIntervalMs,
  outputFlushMs: Timing.backendOutputFlushMs,
  keyRenewAfterMs: Timing.keyRenewAfterMs,
  keySoftTerminateAfterMs: Timing.keySoftTerminateAfterMs,
  keyHardTerminateAfterMs: Timing.keyHardTerminateAfterMs,
  keyRenewRetryMs: Timing.keyRenewRetryMs,
  sweepIntervalMs: Timing.sweepIntervalMs,
});

/** The drone's timing from protocol-level settings (`--timing` JSON): the same derivations as the defaults. */
export function droneTimingFrom(t: Partial<Timing>): Partial<DroneTiming> {
  const all: Timing = { ...Timing, ...t };
  const out: Partial<DroneTiming> = {};
  const copy = ['heartbeatIntervalMs', 'softTerminateGraceMs', 'startupTimeoutMs', 'readinessProbeIntervalMs', 'keyRenewAfterMs', 'keySoftTerminateAfterMs', 'keyHardTerminateAfterMs', 'keyRenewRetryMs', 'sweepIntervalMs'] as const;
  for (const key of copy) if (t[key] !== undefined) out[key] = t[key];
  if (t.backendStatsIntervalMs !== undefined) out.statsIntervalMs = t.backendStatsIntervalMs;
  if (t.backendOutputFlushMs !== undefined) out.outputFlushMs = t.backendOutputFlushMs;
  if (t.droneLostAfterMs !== undefined || t.heartbeatIntervalMs !== undefined) out.selfFenceAfterMs = all.droneLostAfterMs - all.heartbeatIntervalMs;
  return out;
}

export interface DroneConfig {
  /** NATS server URLs. */
  servers: string[];
  cluster: string;
  /** Scheduling pool; `''` is the default pool. */
  pool?: string;
  /** Drone name (default: a fresh `dr-…`). Reusing a name takes over that drone's work queue. */
  name?: string;
  executors?: ExecutorKind[];
  /** Advertised capacity; the controller enforces it when scheduling. */
  maxBackends?: number | null;
  /** Address other components reach this drone's backends on. */
  backendHost?: string;
  /** Ports given to process backends (default `DEFAULT_BACKEND_PORTS`); keep it clear of the ephemeral range. */
  backendPorts?: PortRange;
  /** JetStream replicas used when this drone is the first to create the streams and buckets. */
  replicas?: number;
  /** Serve `/healthz` and `/metrics` on this port (0 = any free port); unset = no health server. */
  healthPort?: number | null;
  healthHost?: string;
  timing?: Partial<DroneTiming>;
  /**
   * Where the drone keeps local state (the process executor's list of running process groups, for
   * cleanup after a crash). Default: `<tmpdir>/jetplane-drone-<name>`.
   */
  stateDir?: string;
  /** Once drained and running no backend, stop (see `RunningDrone.stopped`). */
  exitWhenDrained?: boolean;
  docker?: DockerConfig;
  logger?: Logger;
}

export interface ResolvedDroneConfig {
  servers: string[];
  cluster: string;
  pool: string;
  name: string;
  executors: ExecutorKind[];
  maxBackends: number | null;
  backendHost: string;
  backendPorts: PortRange;
  replicas: number;
  healthPort: number | null;
  healthHost: string;
  timing: DroneTiming;
  docker: ResolvedDockerConfig;
  stateDir: string;
  exitWhenDrained: boolean;
}

export type ConfigResult = { ok: true; config: ResolvedDroneConfig } | { ok: false; problems: string[] };

const POOL_RE = /^([a-z0-9][a-z0-9-]*)?$/;

const isPositive = (n: number): boolean => Number.isFinite(n) && n > 0;

export function resolveDroneConfig(input: DroneConfig): ConfigResult {
  const problems: string[] = [];
  const pool = input.pool ?? '';
  const name = input.name ?? newDroneName();
  const executors: ExecutorKind[] = [...new Set<ExecutorKind>(input.executors ?? ['process'])];
  const timing: DroneTiming = { ...DEFAULT_DRONE_TIMING, ...definedOnly(input.timing ?? {}) };

  if (input.servers.length === 0) problems.push('no NATS server given');
  if (!isValidClusterName(input.cluster)) problems.push(`invalid cluster name: ${JSON.stringify(input.cluster)}`);
  if (!POOL_RE.test(pool) || pool.length > 45) problems.push(`invalid pool name: ${JSON.stringify(pool)}`);
  if (!isValidName(name)) problems.push(`invalid drone name: ${JSON.stringify(name)} (lowercase letters, digits, dashes)`);
  if (executors.length === 0) problems.push('no executor given');
  for (const kind of executors) {
    if (!(EXECUTOR_KINDS as readonly string[]).includes(kind)) problems.push(`unknown executor: ${kind}`);
    else if (!AVAILABLE_EXECUTORS.includes(kind)) problems.push(`${kind} executor not available yet`);
  }
  const docker: ResolvedDockerConfig = {
    socket: input.docker?.socket || undefined,
    mountBase: input.docker?.mountBase || undefined,
    networkMode: input.docker?.networkMode ?? 'host',
    pullTimeoutMs: input.docker?.pullTimeoutMs ?? 600_000,
  };
  if (!DOCKER_NETWORK_MODES.includes(docker.networkMode)) problems.push(`invalid docker network mode: ${JSON.stringify(docker.networkMode)} (host or bridge)`);
  if (docker.mountBase !== undefined && !docker.mountBase.startsWith('/')) problems.push('the mount base must be an absolute path');
  if (!isPositive(docker.pullTimeoutMs)) problems.push('docker pull timeout must be > 0');
  const maxBackends = input.maxBackends ?? null;
  if (maxBackends !== null && !(Number.isInteger(maxBackends) && maxBackends > 0)) {
    problems.push('max backends must be a positive integer');
  }
  const backendPorts = input.backendPorts ?? DEFAULT_BACKEND_PORTS;
  if (!isValidPortRange(backendPorts)) problems.push('backend ports must be a range within 1024-65535 (first-last)');
  const replicas = input.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) problems.push('replicas must be 1..5');
  const healthPort = input.healthPort ?? null;
  if (healthPort !== null && !(Number.isInteger(healthPort) && healthPort >= 0 && healthPort <= 65535)) {
    problems.push('invalid health port');
  }
  for (const key of ['heartbeatIntervalMs', 'softTerminateGraceMs', 'startupTimeoutMs', 'readinessProbeIntervalMs', 'closeTimeoutMs', 'statsIntervalMs', 'outputFlushMs'] as const) {
    if (!isPositive(timing[key])) problems.push(`timing.${key} must be > 0`);
  }
  for (const key of ['keyRenewAfterMs', 'keyRenewRetryMs', 'sweepIntervalMs'] as const) {
    if (!isPositive(timing[key])) problems.push(`timing.${key} must be > 0`);
  }
  if (!(timing.keySoftTerminateAfterMs > timing.keyRenewAfterMs && timing.keyHardTerminateAfterMs > timing.keySoftTerminateAfterMs)) {
    problems.push('key lease timing must keep renew < soft < hard');
  }
  if (timing.selfFenceAfterMs !== null && !(timing.selfFenceAfterMs > timing.heartbeatIntervalMs)) {
    problems.push('timing.selfFenceAfterMs must exceed the heartbeat interval');
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      servers: input.servers,
      cluster: input.cluster,
      pool,
      name,
      executors,
      maxBackends,
      backendHost: input.backendHost ?? '127.0.0.1',
      backendPorts: { ...backendPorts },
      replicas,
      healthPort,
      healthHost: input.healthHost ?? '127.0.0.1',
      timing,
      docker,
      stateDir: input.stateDir || join(tmpdir(), `jetplane-drone-${name}`),
      exitWhenDrained: input.exitWhenDrained ?? false,
    },
  };
}

/** `{a: undefined}` must not override a default when spread. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Thrown by `startDrone` for a configuration it cannot run with. */
export class DroneConfigError extends Error {
  readonly kind = 'invalid-config' as const;
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'DroneConfigError';
  }
}
