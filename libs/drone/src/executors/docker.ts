/**
 * Runs docker executables (`{image, ...}`) as containers through the Docker Engine API. Lifecycle:
 * image per pull policy (the runner shows `loading`), create + start (`starting`), then the runner
 * probes the address (`waiting` → `ready`). Containers are named `jetplane-<backend>`, labelled with
 * the drone and backend, and removed once they have ended.
 */
import type Docker from 'dockerode';
import type { DockerExecutable } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import type { BackendSpec, Executor, ExecutorHooks, RunningBackend, StartResult } from '../executor.js';
import { attachOutput, followStats, removeContainer, runningContainer } from './docker-container.js';
import { dockerMessage, dockerStatus, isNotFound } from './docker-errors.js';
import { ContainerExitWatch } from './docker-events.js';
import { ensureImage } from './docker-image.js';
import { DOCKER_LABELS, buildContainerSpec, containerName, type ContainerSpec, type DockerNetworkMode } from './docker-spec.js';
import { freePort } from './free-port.js';

export interface DockerExecutorOptions {
  docker: Docker;
  /** This drone's name: the label that marks its containers. */
  drone: string;
  networkMode: DockerNetworkMode;
  /** With host networking: the address backends are reached on (their port is picked there). */
  host: string;
  /** `--mount-base` for `mount`; undefined = mounts are skipped with a warning. */
  mountBase?: string;
  /** Soft terminate: `docker stop` SIGKILLs this long after SIGTERM. */
  softTerminateGraceMs: number;
  /** A pull taking longer fails the backend (default 10 min). */
  pullTimeoutMs?: number;
  /** After an exit, how long to wait for the last output (default 2 s). */
  outputFlushMs?: number;
  log: Logger;
}

/** A container carrying JetPlane's labels. */
export interface LabelledContainer {
  id: string;
  backendId: string;
  drone: string;
  running: boolean;
}

const failed = (message: string): StartResult => ({ ok: false, error: { kind: 'failed', message } });
const aborted: StartResult = { ok: false, error: { kind: 'aborted' } };

export class DockerExecutor implements Executor {
  readonly kind = 'docker' as const;
  private readonly exits: ContainerExitWatch;
  /** Until Docker says otherwise: only some storage drivers take `StorageOpt.size`. */
  private diskLimitSupported = true;

  constructor(private readonly opts: DockerExecutorOptions) {
    this.exits = new ContainerExitWatch(opts.docker, opts.drone, opts.log);
  }

  /** Start following container exits; rejects when Docker cannot be reached. */
  async init(): Promise<void> {
    await this.exits.start();
  }

  close(): void {
    this.exits.stop();
  }

  async start(spec: BackendSpec, hooks: ExecutorHooks): Promise<StartResult> {
    const exe = spec.executable;
    if (!('image' in exe)) return failed('not a docker executable (expected {"image": ...})');
    const log = this.opts.log.child({ backend_id: spec.backendId });
    if (spec.signal.aborted) return aborted;

    const image = await ensureImage({
      docker: this.opts.docker,
      executable: exe,
      signal: spec.signal,
      pullTimeoutMs: this.opts.pullTimeoutMs ?? 600_000,
      log,
      onProgress: (text) => hooks.onOutput('stderr', `[jetplane] ${text}`),
    });
    if (!image.ok) {
      if (image.kind === 'failed') hooks.onOutput('stderr', `[jetplane] ${image.message}`);
      return image.kind === 'aborted' ? aborted : failed(image.message);
    }
    if (spec.signal.aborted) return aborted;
    hooks.onPhase('starting');

    let hostPort: number;
    try {
      hostPort = spec.port ?? (this.usesHostNetwork(exe) ? await freePort(this.opts.host) : 0);
    } catch (err) {
      return failed(`no free port: ${(err as Error).message}`);
    }
    const created = await this.create(spec, exe, hostPort, log);
    if (!created.ok) return failed(created.message);
    const { container, built } = created;

    const exit = this.exits.wait(container.id);
    let output: Awaited<ReturnType<typeof attachOutput>>;
    try {
      output = await attachOutput(container, hooks);
    } catch (err) {
      this.exits.forget(container.id);
      await removeContainer(container, log);
      return failed(`cannot attach to the container: ${dockerMessage(err)}`);
    }
    try {
      await container.start();
    } catch (err) {
      output.close();
      this.exits.forget(container.id);
      await removeContainer(container, log);
      return failed(`cannot start the container: ${dockerMessage(err)}`);
    }
    const address = await this.addressOf(container, built.ownAddress ? built.network : null, built.port);
    if (!address.ok) {
      output.close();
      this.exits.forget(container.id);
      await removeContainer(container, log);
      return failed(address.message);
    }
    const stats = await followStats(container, hooks, built.memoryLimit, log);
    log.info({ container: container.id.slice(0, 12), address: address.value }, 'container started');
    return { ok: true, backend: this.running(container, address.value, exit, output, stats, log) };
  }

  /**
   * Follow a container an earlier run of this drone started. `null` when it is not running any more
   * (the caller removes it and records the backend's end).
   */
  async adopt(containerId: string, backendId: string, hooks: ExecutorHooks): Promise<RunningBackend | null> {
    const log = this.opts.log.child({ backend_id: backendId });
    const container = this.opts.docker.getContainer(containerId);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    if (!info.State.Running) return null;
    const exit = this.exits.wait(containerId);
    await this.exits.check(containerId); // it may have died since the inspect
    const network = info.HostConfig.NetworkMode === 'host' ? null : (info.HostConfig.NetworkMode ?? 'bridge');
    const port = Number((info.Config.Env ?? []).find((e) => e.startsWith('PORT='))?.slice(5));
    const address = await this.addressOf(container, network, port);
    if (!address.ok) throw new Error(address.message);
    const output = await attachOutput(container, hooks).catch(() => ({ ended: Promise.resolve(), close: () => undefined }));
    const stats = await followStats(container, hooks, info.HostConfig.Memory || null, log);
    log.info({ container: containerId.slice(0, 12), address: address.value }, 'container adopted');
    return this.running(container, address.value, exit, output, stats, log);
  }

  /** Containers with JetPlane's labels: this drone's (`mine`) or every drone's on this daemon. */
  async containers(scope: 'mine' | 'all'): Promise<LabelledContainer[]> {
    const label = scope === 'mine' ? [`${DOCKER_LABELS.drone}=${this.opts.drone}`] : [DOCKER_LABELS.backend];
    const list = await this.opts.docker.listContainers({ all: true, filters: { label } });
    return list
      .filter((c) => c.Labels[DOCKER_LABELS.backend])
      .map((c) => ({ id: c.Id, backendId: c.Labels[DOCKER_LABELS.backend] ?? '', drone: c.Labels[DOCKER_LABELS.drone] ?? '', running: c.State === 'running' }));
  }

  async remove(containerId: string): Promise<void> {
    await removeContainer(this.opts.docker.getContainer(containerId), this.opts.log);
  }

  private usesHostNetwork(exe: DockerExecutable): boolean {
    return this.opts.networkMode === 'host' && (exe.network_name === undefined || exe.network_name === 'host');
  }

  private running(
    container: Docker.Container,
    address: string,
    exit: Promise<number | null>,
    output: Awaited<ReturnType<typeof attachOutput>>,
    stats: { stop(): void },
    log: Logger,
  ): RunningBackend {
    return runningContainer({
      container,
      address,
      exit,
      output,
      stats,
      graceSeconds: Math.max(1, Math.ceil(this.opts.softTerminateGraceMs / 1000)),
      outputFlushMs: this.opts.outputFlushMs ?? 2_000,
      log,
    });
  }

  /** Create the container; a leftover of the same name is replaced, an unsupported disk limit dropped. */
  private async create(
    spec: BackendSpec,
    exe: DockerExecutable,
    hostPort: number,
    log: Logger,
  ): Promise<{ ok: true; container: Docker.Container; built: ContainerSpec } | { ok: false; message: string }> {
    for (let attempt = 1; ; attempt++) {
      const result = buildContainerSpec({
        backendId: spec.backendId,
        drone: this.opts.drone,
        executable: exe,
        sessionEnv: spec.env,
        // The contract's SESSION_BACKEND_KEY is the key name (reference §8.7).
        keyName: spec.env.SESSION_BACKEND_KEY ?? spec.backendId,
        networkMode: this.opts.networkMode,
        hostPort,
        mountBase: this.opts.mountBase,
        diskLimitSupported: this.diskLimitSupported,
      });
      if (!result.ok) return result;
      for (const warning of result.spec.warnings) log.warn(warning);
      try {
        const container = await this.opts.docker.createContainer(result.spec.options);
        return { ok: true, container, built: result.spec };
      } catch (err) {
        const message = dockerMessage(err);
        if (attempt < 3 && dockerStatus(err) === 409 && /already in use/i.test(message)) {
          log.warn('a container of the same name is left over; replacing it');
          await removeContainer(this.opts.docker.getContainer(containerName(spec.backendId)), log);
          continue;
        }
        if (attempt < 3 && this.diskLimitSupported && /storage-?opt/i.test(message)) {
          this.diskLimitSupported = false;
          continue;
        }
        return { ok: false, message: `cannot create the container: ${message}` };
      }
    }
  }

  /** `host:port` with host networking; the container's IP on `network` otherwise. */
  private async addressOf(container: Docker.Container, network: string | null, port: number): Promise<{ ok: true; value: string } | { ok: false; message: string }> {
    if (!Number.isInteger(port) || port <= 0) return { ok: false, message: 'the container has no PORT' };
    if (network === null) return { ok: true, value: `${this.opts.host}:${port}` };
    for (let attempt = 0; attempt < 3; attempt++) {
      const info = await container.inspect().catch(() => undefined);
      const networks = info?.NetworkSettings.Networks ?? {};
      const ip = networks[network]?.IPAddress || Object.values(networks).find((n) => n.IPAddress)?.IPAddress;
      if (ip) return { ok: true, value: ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}` };
      await new Promise((r) => setTimeout(r, 100));
    }
    return { ok: false, message: `the container has no IP address on network ${network}` };
  }
}
