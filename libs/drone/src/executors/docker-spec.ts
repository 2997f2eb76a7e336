/**
 * The Docker container a docker executable becomes (pure: no Docker calls, so every mapping of
 * Plane's `DockerExecutorConfig` is unit-tested). Reference §8.6–8.7.
 */
import { posix } from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import type { DockerExecutable } from '@jetplane/protocol';

/** Labels every JetPlane container carries: how a drone finds its own containers again. */
export const DOCKER_LABELS = Object.freeze({
  drone: 'dev.jetplane.drone',
  backend: 'dev.jetplane.backend',
});

/** Where the backend's data directory is mounted inside the container (Plane's path). */
export const DATA_MOUNT_TARGET = '/plane-data';
/** The port a backend listens on when it has its own network address (Plane's fixed 8080). */
export const CONTAINER_PORT = 8080;
/** Plane's default CPU period (100 ms), used when only `cpu_period_percent` is given. */
export const DEFAULT_CPU_PERIOD_US = 100_000;

/**
 * `host`: the container shares the drone's network; the drone picks a free port for it (loopback
 * friendly, what the tests use). `bridge`: the container gets its own address on a Docker network
 * and listens on 8080 there; the drone reaches it at the container's IP.
 */
export type DockerNetworkMode = 'host' | 'bridge';

export const containerName = (backendId: string): string => `jetplane-${backendId}`;

export interface ContainerSpecInput {
  backendId: string;
  drone: string;
  executable: DockerExecutable;
  /** `SESSION_BACKEND_*`; these win over the executable's env. */
  sessionEnv: Record<string, string>;
  /** The backend's key name (the directory for `mount: true`). */
  keyName: string;
  networkMode: DockerNetworkMode;
  /** The port to listen on with host networking (ignored when the container has its own address). */
  hostPort: number;
  /** `--mount-base`; without it mounts are skipped with a warning. */
  mountBase: string | undefined;
  /** Set `StorageOpt.size` for `disk_limit_bytes` (false once Docker said its storage driver cannot). */
  diskLimitSupported: boolean;
}

export interface ContainerSpec {
  options: ContainerCreateOptions;
  /** The port the backend listens on (`PORT`). */
  port: number;
  /** Whether the backend has its own address (on `network`) rather than the drone's. */
  ownAddress: boolean;
  network: string;
  memoryLimit: number | null;
  /** Things the drone ignored, to be logged (never holding env values or credentials). */
  warnings: string[];
}

export type ContainerSpecResult = { ok: true; spec: ContainerSpec } | { ok: false; message: string };

/** The container's network: `network_name` wins; otherwise the drone's mode. */
export function networkOf(exe: DockerExecutable, mode: DockerNetworkMode): string {
  if (exe.network_name) return exe.network_name;
  return mode === 'host' ? 'host' : 'bridge';
}

export function buildContainerSpec(input: ContainerSpecInput): ContainerSpecResult {
  const exe = input.executable;
  const warnings: string[] = [];
  const network = networkOf(exe, input.networkMode);
  const ownAddress = network !== 'host';
  const port = ownAddress ? CONTAINER_PORT : input.hostPort;

  const binds: string[] = [];
  if (exe.mount !== undefined && exe.mount !== false) {
    if (!input.mountBase) {
      warnings.push('the executable asks for a mount but this drone has no --mount-base: not mounted');
    } else {
      const source = mountSource(input.mountBase, exe.mount === true ? input.keyName : exe.mount);
      if (!source.ok) return source;
      binds.push(`${source.path}:${DATA_MOUNT_TARGET}`);
    }
  }

  const hostConfig: NonNullable<ContainerCreateOptions['HostConfig']> = {
    NetworkMode: network,
    RestartPolicy: { Name: 'no' },
    // Removed by the drone once it has read the exit code and the last output.
    AutoRemove: false,
  };
  if (binds.length > 0) hostConfig.Binds = binds;
  const limits = exe.resource_limits;
  let memoryLimit: number | null = null;
  if (limits) {
    if (limits.cpu_period !== undefined || limits.cpu_period_percent !== undefined) {
      const period = limits.cpu_period ?? DEFAULT_CPU_PERIOD_US;
      hostConfig.CpuPeriod = period;
      if (limits.cpu_period_percent !== undefined) hostConfig.CpuQuota = Math.floor((period * limits.cpu_period_percent) / 100);
    }
    if (limits.cpu_time_limit !== undefined) {
      hostConfig.Ulimits = [{ Name: 'cpu', Soft: limits.cpu_time_limit, Hard: limits.cpu_time_limit }];
    }
    if (limits.memory_limit_bytes !== undefined) {
      hostConfig.Memory = limits.memory_limit_bytes;
      memoryLimit = limits.memory_limit_bytes;
    }
    if (limits.disk_limit_bytes !== undefined) {
      if (input.diskLimitSupported) hostConfig.StorageOpt = { size: String(limits.disk_limit_bytes) };
      else warnings.push("disk_limit_bytes ignored: Docker's storage driver on this drone cannot limit disk size");
    }
  }

  // Plane's variables win over the executable's own, and PORT over both.
  const env = { ...(exe.env ?? {}), ...input.sessionEnv, PORT: String(port) };
  const options: ContainerCreateOptions = {
    name: containerName(input.backendId),
    Image: exe.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { [DOCKER_LABELS.drone]: input.drone, [DOCKER_LABELS.backend]: input.backendId },
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    HostConfig: hostConfig,
  };
  if (ownAddress) options.ExposedPorts = { [`${CONTAINER_PORT}/tcp`]: {} };
  return { ok: true, spec: { options, port, ownAddress, network, memoryLimit, warnings } };
}

/**
 * `<mount base>/<relative path>`: only plain components (no `.`, `..`, absolute paths), and nothing
 * that would break Docker's `source:target` bind syntax.
 */
export function mountSource(base: string, relative: string): { ok: true; path: string } | { ok: false; message: string } {
  const parts = relative.split('/').filter((p) => p !== '');
  const bad =
    relative.startsWith('/') ||
    parts.length === 0 ||
    parts.some((p) => p === '.' || p === '..') ||
    /[:,\0]/.test(relative);
  if (bad) return { ok: false, message: `mount path ${JSON.stringify(relative)} is not under the mount base` };
  return { ok: true, path: posix.join(base, ...parts) };
}
