/**
 * The seam between the backend state machine and whatever runs a backend (a local process today,
 * a Docker container later). An executor knows nothing about NATS or backend records.
 */
import type { Executable, ExecutorKind, TerminationKind } from '@jetplane/protocol';

export interface BackendSpec {
  backendId: string;
  executable: Executable;
  /** `SESSION_BACKEND_*` variables; the executor adds `PORT` and the executable's own env. */
  env: Record<string, string>;
  /** Fixed port to use; by default the executor picks a free one. */
  port?: number;
  /** Aborted when the backend is terminated before it runs: the executor must not start it then. */
  signal: AbortSignal;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ExecutorHooks {
  /**
   * The executor entered a lifecycle phase (`loading` is recorded by the runner before the executor is
   * called). The runner stores it in order with the later statuses; the executor need not wait for it.
   */
  onPhase(status: 'starting'): void;
  onOutput(stream: OutputStream, line: string): void;
  /** A resource-use sample (executors that can measure it call this about every second). */
  onStats?(sample: ResourceSample): void;
}

/** CPU and memory use of a backend at one moment. */
export interface ResourceSample {
  /** Share of one CPU (100 = one full core). */
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  /** Epoch ms. */
  time: number;
}

export interface ExitInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningBackend {
  /** `host:port` where the backend serves HTTP. */
  address: string;
  /** Settles once the backend has ended (never rejects). */
  exited: Promise<ExitInfo>;
  /** soft = ask it to stop (SIGTERM), hard = kill now (SIGKILL). Idempotent; a no-op once exited. */
  terminate(kind: TerminationKind): void;
}

export type ExecutorError =
  /** `signal` was aborted before the backend started. */
  | { kind: 'aborted' }
  /** The backend could not be started (bad command, missing image, ...): reported as `failed`. */
  | { kind: 'failed'; message: string };

export type StartResult = { ok: true; backend: RunningBackend } | { ok: false; error: ExecutorError };

export interface Executor {
  readonly kind: ExecutorKind;
  /** Never rejects: failures are returned as values. */
  start(spec: BackendSpec, hooks: ExecutorHooks): Promise<StartResult>;
}
