/** The drone agent: registration, work consumption, backend runners, health, shutdown. */
import { setTimeout as sleep } from 'node:timers/promises';
import { openJetPlane } from '@jetplane/nats';
import { executorKindOf, type ExecutorKind } from '@jetplane/protocol';
import { createLogger, startHealthServer, type Logger, type Registry } from '@jetplane/observability';
import { BackendRunner, type SpawnWork } from './backend-runner.js';
import { DroneConfigError, resolveDroneConfig, type DroneConfig, type ResolvedDroneConfig } from './config.js';
import type { Executor } from './executor.js';
import { ProcessExecutor } from './executors/process.js';
import { startHeartbeat } from './heartbeat.js';
import { endLeftoverBackends } from './lost.js';
import { createDroneMetrics } from './metrics.js';
import { DroneRegistration } from './registration.js';
import { workHandler } from './work-handler.js';
import { startWorkLoop, type WorkLoop } from './work-loop.js';

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
}

function createExecutors(config: ResolvedDroneConfig): Map<ExecutorKind, Executor> {
  const executors = new Map<ExecutorKind, Executor>();
  if (config.executors.includes('process')) executors.set('process', new ProcessExecutor({ host: config.backendHost }));
  return executors;
}

export async function startDrone(input: DroneConfig): Promise<RunningDrone> {
  const resolved = resolveDroneConfig(input);
  if (!resolved.ok) throw new DroneConfigError(resolved.problems);
  const config = resolved.config;
  const log: Logger = (input.logger ?? createLogger({ component: 'drone' })).child({ drone: config.name });
  const jp = await openJetPlane({ servers: config.servers, name: `jetplane-drone ${config.name}`, replicas: config.replicas });

  const metrics = createDroneMetrics();
  const executors = createExecutors(config);
  const runners = new Map<string, BackendRunner>();
  const registration = new DroneRegistration({ drones: jp.drones, events: jp.events, config, log, backendCount: () => runners.size });
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  let consumer: WorkLoop;
  let closing: Promise<void> | undefined;

  try {
    const previous = await jp.drones.get(config.name);
    if (previous) {
      if (previous.value.state !== 'stopped') log.warn('a drone with this name did not stop cleanly; taking over');
      const ended = await endLeftoverBackends(jp, config.name, { log });
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
      createRunner: (work: SpawnWork) =>
        new BackendRunner(
          {
            stores: jp,
            drone: config.name,
            timing: config.timing,
            log,
            executor: executors.get(executorKindOf(work.executable)),
            onEnded: (reason) => metrics.terminations.inc({ reason }),
          },
          work,
        ),
      track: (runner) => {
        // A spawn that was mid-flight when close() gave up waiting for it must not outlive the drone.
        if (closing) void runner.terminate('hard', 'lost');
        runners.set(runner.id, runner);
        metrics.spawns.inc();
        metrics.backendsRunning.set(runners.size);
        void runner.done.then(() => {
          runners.delete(runner.id);
          metrics.backendsRunning.set(runners.size);
        });
      },
      ended: (reason) => metrics.terminations.inc({ reason }),
    });
    consumer = await startWorkLoop(jp.work, config.name, handle, log);
  } catch (err) {
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
  });
  log.info({ url: health?.url ?? null, pool: config.pool, cluster: config.cluster, executors: config.executors }, 'ready');

  const close = async (): Promise<void> => {
    const deadline = Date.now() + config.timing.closeTimeoutMs;
    const until = <T>(p: Promise<T>): Promise<unknown> => Promise.race([p, sleep(Math.max(0, deadline - Date.now()))]);
    heartbeat.stop();
    await until(consumer.stop());
    const remaining = [...runners.values()];
    if (remaining.length > 0) log.info({ backends: remaining.length }, 'killing backends');
    for (const runner of remaining) void runner.terminate('hard', 'lost');
    await until(Promise.all(remaining.map((r) => r.done)));
    await registration.markStopped().catch((err: unknown) => log.warn({ err }, 'could not mark the drone stopped'));
    await health?.close();
    await jp.close();
  };

  return {
    name: config.name,
    config,
    healthUrl: health?.url ?? null,
    registry: metrics.registry,
    backendIds: () => [...runners.keys()],
    close: () => (closing ??= close()),
  };
}
