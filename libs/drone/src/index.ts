export { startDrone, type RunningDrone } from './drone.js';
export {
  AVAILABLE_EXECUTORS,
  DEFAULT_DRONE_TIMING,
  DOCKER_NETWORK_MODES,
  DroneConfigError,
  droneTimingFrom,
  resolveDroneConfig,
  type ConfigResult,
  type DroneConfig,
  type DroneTiming,
  type DockerConfig,
  type ResolvedDockerConfig,
  type ResolvedDroneConfig,
} from './config.js';
export type {
  BackendSpec,
  Executor,
  ExecutorError,
  ExecutorHooks,
  ExitInfo,
  OutputStream,
  ResourceSample,
  RunningBackend,
  StartResult,
} from './executor.js';
export { ProcessExecutor, type ProcessExecutorOptions } from './executors/process.js';
export { DEFAULT_BACKEND_PORTS, PortPool, PortsExhaustedError, parsePortRange, type PortRange } from './executors/port-pool.js';
export { probeOnce, waitUntilReady, type Readiness, type WaitForReadyOptions } from './readiness.js';
export { BackendRunner, type RunnerContext, type SpawnWork } from './backend-runner.js';
export type { DroneStores } from './cleanup.js';
export { DockerExecutor, type DockerExecutorOptions, type LabelledContainer } from './executors/docker.js';
export { createDockerClient, pingDocker, DockerUnavailableError } from './executors/docker-client.js';
export { DOCKER_LABELS, containerName, type DockerNetworkMode } from './executors/docker-spec.js';
export { createOutputPublisher, type BackendOutputSink, type OutputPublisherOptions } from './output-publisher.js';
export { LifecycleSupervisor, type LifecycleOptions, type LifecycleTiming, type SupervisedRunner } from './lifecycle.js';
export { KeyLease, type KeyLeaseDeps, type LeaseTiming, type LeaseDeadlines } from './lease.js';
export { ActivityLedger } from './activity.js';
