export { startDrone, type RunningDrone } from './drone.js';
export {
  AVAILABLE_EXECUTORS,
  DEFAULT_DRONE_TIMING,
  DroneConfigError,
  resolveDroneConfig,
  type ConfigResult,
  type DroneConfig,
  type DroneTiming,
  type ResolvedDroneConfig,
} from './config.js';
export type {
  BackendSpec,
  Executor,
  ExecutorError,
  ExecutorHooks,
  ExitInfo,
  OutputStream,
  RunningBackend,
  StartResult,
} from './executor.js';
export { ProcessExecutor, type ProcessExecutorOptions } from './executors/process.js';
export { probeOnce, waitUntilReady, type Readiness, type WaitForReadyOptions } from './readiness.js';
export { BackendRunner, type RunnerContext, type SpawnWork } from './backend-runner.js';
export type { DroneStores } from './cleanup.js';
