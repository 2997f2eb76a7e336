/** The drone agent: registration, work consumption, backend runners, health, shutdown. */
import { setTimeout as sleep } from 'node:timers/promises';
import { openJetPlane, publishBackendStats, publishLogLine } from '@jetplane/nats';
import { executorKindOf, spawnWorkOf, type BackendRecord, type ExecutorKind, type SpawnWork } from '@jetplane/protocol';
import { createLogger, startHealthServer, type Logger, type Registry } from '@jetplane/observability';
import { BackendRunner } from './backend-runner.js';
import { DroneConfigError, resolveDroneConfig, type DroneConfig, type ResolvedDroneConfig } from './config.js';
import { adoptLeftoverContainers, startContainerSweep } from './docker-leftovers.js';
import type { Executor } from './executor.js';
import { DockerExecutor } from './executors/docker.js';
import { createDockerClient, describeDockerTarget, pingDocker } from './executors/docker-client.js';
import { ProcessExecutor } from './executors/process.js';
import { PortPool, ephemeralPorts, overlaps } from './executors/port-pool.js';
import { createOutputPublisher } from './output-publisher.js';
import { watchDrained } from './drain-exit.js';
import { LifecycleSupervisor } from './lifecycle.js';
import { ProcessStateFile, reapLeftoverProcesses } from './process-state.js';
import { startHeartbeat } from './heartbeat.js';
import { endLeftoverBackends } from './lost.js';
import { createDroneMetrics } from './metrics.js';
import { DroneRegistration } from './registration.js';
import { workHandler } from './work-handler.js';
import { startWorkLoop, type WorkLoop } from './work-loop.js';
import { StartGate } from './start-gate.js';

/** Backends brought up at once on one drone (see start-gate.ts); the rest wait their turn, accepted. */
const MAX_STARTING = 16;

export interface RunningDrone {
  name: string;
  config: ResolvedDroneConfig;
  /** `http://host:port` of the health server, or null without one. */
  healthUrl: string | null;
  registry: Registry;
  /** Backends currently run here (not terminated yet). */
  backendIds(): string[];
  /**
   * Stop taking work, SIGKILL every backend and record it `terminated` (`lost`: the drone is going
   * away), mark the drone `stopped`, close NATS. Idempotent.
   */
  close(): Promise<void>;
  /** Resolves once the drone has closed, whoever asked (a signal, or `exitWhenDrained`). */
  stopped: Promise<void>;
}

async function createExecutors(config: ResolvedDroneConfig, log: Logger): Promise<{ executors: Map<ExecutorKind, Executor>; docker?: DockerExecutor }> {
  const executors = new Map<ExecutorKind, Executor>();
  if (config.executors.includes('process')) {
    // Whatever a crashed earlier run left running goes first (its records are then ended `lost`).
    const state = new ProcessStateFile(config.stateDir, log);
    reapLeftoverProcesses(state, log);
    const ephemeral = ephemeralPorts();
    if (ephemeral && overlaps(config.backendPorts, ephemeral)) {
      log.warn({ backend_ports: config.backendPorts, ephemeral }, 'backend ports overlap the ephemeral range: outgoing connections may take a port before its backend binds it');
    }
    const ports = new PortPool({ range: config.backendPorts, host: config.backendHost });
    executors.set('process', new ProcessExecutor({ host: config.backendHost, ledger: state, ports }));
  }
  if (!config.executors.includes('docker')) return { executors };
  // Advertising docker without a daemon would attract backends that can only fail: refuse to start.
  const target = describeDockerTarget(config.docker.socket);
  const client = createDockerClient(config.docker.socket);
  const version = await pingDocker(client, target);
  const docker = new DockerExecutor({
    docker: client,
    drone: config.name,
    networkMode: config.docker.networkMode,
    host: config.backendHost,
    ...(config.docker.mountBase !== undefined ? { mountBase: config.docker.mountBase } : {}),
    softTerminateGraceMs: config.timing.softTerminateGraceMs,
    pullTimeoutMs: config.docker.pullTimeoutMs,
    outputFlushMs: config.timing.outputFlushMs,
    log,
  });
  await docker.init();
  if (config.docker.mountBase === undefined) log.info('no --mount-base: docker executables asking for a mount run without one');
  log.info({ docker: target, version, network_mode: config.docker.networkMode }, 'docker executor ready');
  executors.set('docker', docker);
  return { executors, docker };
}

export async function startDrone(input: DroneConfig): Promise<RunningDrone> {
  const resolved = resolveDroneConfig(input);
  if (!resolved.ok) throw new DroneConfigError(resolved.problems);
  const config = resolved.config;
  const log: Logger = (input.logger ?? createLogger({ component: 'drone' })).child({ drone: config.name });
  const jp = await openJetPlane({ servers: config.servers, name: `jetplane-drone ${config.name}`, replicas: config.replicas });

  const metrics = createDroneMetrics();
  const output = createOutputPublisher({
    publishLine: (line) => publishLogLine(jp.nc, line),
    publishStats: (stats) => publishBackendStats(jp.nc, stats),
    flush: () => jp.nc.flush(),
    flushTimeoutMs: config.timing.outputFlushMs,
    statsIntervalMs: config.timing.statsIntervalMs,
  });
  let executors = new Map<ExecutorKind, Executor>();
  let docker: DockerExecutor | undefined;
  let sweep: { stop(): void } | undefined;
  const runners = new Map<string, BackendRunner>();
  const gate = new StartGate(MAX_STARTING);
  const registration = new DroneRegistration({ drones: jp.drones, events: jp.events, config, log, backendCount: () => runners.size });
  // Key leases, idle and lifetime limits, liveness inspection (see lifecycle.ts).
  const lifecycle = new LifecycleSupervisor({ drone: config.name, keys: jp.keys, timing: config.timing, log, isConnected: () => jp.isConnected() });
  lifecycle.start(jp.nc);
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  let consumer: WorkLoop;
  let closing: Promise<void> | undefined;

  const createRunner = (work: SpawnWork): BackendRunner =>
    new BackendRunner(
      {
        stores: jp,
        drone: config.name,
        timing: config.timing,
        log,
        executor: executors.get(executorKindOf(work.executable)),
        onEnded: (reason) => metrics.terminations.inc({ reason }),
        output,
        gate,
      },
      work,
    );
  const hold = (runner: BackendRunner): void => {
    runners.set(runner.id, runner);
    metrics.backendsRunning.set(runners.size);
    void runner.done.then(() => {
      runners.delete(runner.id);
      metrics.backendsRunning.set(runners.size);
    });
  };
  const track = (runner: BackendRunner): void => {
    // A spawn that was mid-flight when close() gave up waiting for it must not outlive the drone.
    if (closing) void runner.terminate('hard', 'lost');
    if (!runners.has(runner.id)) hold(runner);
    lifecycle.watch(runner);
    metrics.spawns.inc();
  };

  try {
    ({ executors, docker } = await createExecutors(config, log));
    let adopted = new Set<string>();
    if (docker) {
      const dockerExecutor = docker;
      adopted = await adoptLeftoverContainers({
        docker: dockerExecutor,
        backends: jp.backends,
        drone: config.name,
        log,
        adopt: async (record, containerId) => {
          const runner = createRunner(spawnWorkOf(record));
          const ok = await runner.adopt(record, (hooks) => dockerExecutor.adopt(containerId, record.id, hooks));
          if (ok) track(runner);
          return ok;
        },
      });
      if (adopted.size > 0) log.info({ adopted: adopted.size }, 'containers of the earlier run adopted');
    }
    const previous = await jp.drones.get(config.name);
    if (previous) {
      if (previous.value.state !== 'stopped') log.warn('a drone with this name did not stop cleanly; taking over');
      const ended = await endLeftoverBackends(jp, config.name, { log }, adopted);
      if (ended > 0) log.warn({ ended }, 'backends of the earlier run recorded lost');
    }
    await registration.register();
    if (config.healthPort !== null) {
      health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        registry: metrics.registry,
        healthy: () => jp.isConnected(),
      });
    }
    const handle = workHandler({
      drone: config.name,
      stores: jp,
      log,
      runner: (id) => runners.get(id),
      createRunner,
      hold,
      track,
      ended: (reason) => metrics.terminations.inc({ reason }),
    });
    consumer = await startWorkLoop(jp.work, config.name, handle, log);
    if (docker) sweep = startContainerSweep({ docker, backends: jp.backends, drone: config.name, log, followed: (id) => runners.has(id) });
  } catch (err) {
    // Adopted backends would have nobody following them: end them like close() does.
    lifecycle.stop();
    for (const runner of runners.values()) void runner.terminate('hard', 'lost');
    await Promise.race([Promise.all([...runners.values()].map((r) => r.done)), sleep(config.timing.closeTimeoutMs)]);
    docker?.close();
    output.close();
    await health?.close();
    await jp.close();
    throw err;
  }

  const heartbeat = startHeartbeat({
    registration,
    intervalMs: config.timing.heartbeatIntervalMs,
    selfFenceAfterMs: config.timing.selfFenceAfterMs,
    runners: () => runners.values(),
    log,
    onFenced: (fenced) => lifecycle.setFenced(fenced),
  });
  log.info({ url: health?.url ?? null, pool: config.pool, cluster: config.cluster, executors: config.executors }, 'ready');

  const close = async (): Promise<void> => {
    const deadline = Date.now() + config.timing.closeTimeoutMs;
    const until = <T>(p: Promise<T>): Promise<unknown> => Promise.race([p, sleep(Math.max(0, deadline - Date.now()))]);
    heartbeat.stop();
    drained?.stop();
    lifecycle.stop();
    sweep?.stop();
    await until(consumer.stop());
    const remaining = [...runners.values()];
    if (remaining.length > 0) log.info({ backends: remaining.length }, 'killing backends');
    for (const runner of remaining) void runner.terminate('hard', 'lost');
    await until(Promise.all(remaining.map((r) => r.done)));
    docker?.close();
    output.close();
    await registration.markStopped().catch((err: unknown) => log.warn({ err }, 'could not mark the drone stopped'));
    await health?.close();
    await jp.close();
  };

  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const closeOnce = (): Promise<void> => (closing ??= close().finally(markStopped));
  const drained = config.exitWhenDrained
    ? watchDrained({
        state: () => registration.currentState,
        running: () => runners.size,
        intervalMs: config.timing.heartbeatIntervalMs,
        onDrained: () => {
          log.info('drained and empty: stopping');
          void closeOnce();
        },
      })
    : undefined;

  return {
    name: config.name,
    config,
    healthUrl: health?.url ?? null,
    registry: metrics.registry,
    backendIds: () => [...runners.keys()],
    close: closeOnce,
    stopped,
  };
}
