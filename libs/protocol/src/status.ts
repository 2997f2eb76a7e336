/** Backend lifecycle as data: ordered statuses that only move forward, and why a backend ended. */

export const BACKEND_STATUSES = [
  'scheduled',
  'loading',
  'starting',
  'waiting',
  'ready',
  'terminating',
  'terminated',
] as const;
export type BackendStatus = (typeof BACKEND_STATUSES)[number];

const RANK: Readonly<Record<BackendStatus, number>> = Object.freeze({
  scheduled: 10,
  loading: 20,
  starting: 30,
  waiting: 40,
  ready: 50,
  terminating: 60,
  terminated: 70,
});

/** Plane's numeric ordering (gaps left for future statuses). */
export function statusRank(status: BackendStatus): number {
  return RANK[status];
}

export function isBackendStatus(value: unknown): value is BackendStatus {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** A backend that has not started to go away. */
export function isLive(status: BackendStatus): boolean {
  return RANK[status] < RANK.terminating;
}

export const TerminationReason = {
  /** Idle longer than `max_idle_seconds`. */
  swept: 'swept',
  /** `lifetime_limit_seconds` reached. */
  lifetime: 'lifetime',
  /** The terminate API. */
  external: 'external',
  /** The key lease was not renewed in time. */
  keyexpired: 'keyexpired',
  /** The drone running it was lost, or it no longer knows the backend. */
  lost: 'lost',
  /** It never answered on its port within the startup timeout. */
  startuptimeout: 'startuptimeout',
  /** The backend process exited by itself. */
  exit: 'exit',
  /** The executor could not start it (bad command, missing image, ...). */
  failed: 'failed',
} as const;
export type TerminationReason = (typeof TerminationReason)[keyof typeof TerminationReason];

export const TerminationKind = { soft: 'soft', hard: 'hard' } as const;
export type TerminationKind = (typeof TerminationKind)[keyof typeof TerminationKind];

/**
 * The full state of a backend, as stored in `jetplane_backends` and shown on the status API.
 * `time` is epoch ms on the clock of the component that made the change.
 */
export interface BackendState {
  status: BackendStatus;
  time: number;
  /** `host:port`, only while waiting or ready. */
  address?: string;
  /** Status before terminating/terminated. */
  last_status?: BackendStatus;
  termination_kind?: TerminationKind;
  termination_reason?: TerminationReason;
  exit_code?: number | null;
  /** Human-readable detail for a failure (never a secret). */
  message?: string;
}

/**
 * The next state when a termination is requested, or `undefined` when nothing changes.
 * Fixes Plane's inverted rule (quirk Q2): soft may escalate to hard, never the reverse.
 */
export function toTerminating(
  current: BackendState,
  kind: TerminationKind,
  reason: TerminationReason,
  time: number,
): BackendState | undefined {
  if (current.status === 'terminated') return undefined;
  if (current.status === 'terminating') {
    if (current.termination_kind === 'soft' && kind === 'hard') {
      return { ...current, termination_kind: 'hard', time };
    }
    return undefined;
  }
  return {
    status: 'terminating',
    time,
    last_status: current.status,
    termination_kind: kind,
    termination_reason: reason,
  };
}

/** The terminated state that follows `current` once the backend is gone. */
export function toTerminated(
  current: BackendState,
  time: number,
  exitCode: number | null,
  fallbackReason: TerminationReason,
  message?: string,
): BackendState | undefined {
  if (current.status === 'terminated') return undefined;
  const base: BackendState = { status: 'terminated', time, exit_code: exitCode };
  if (message) base.message = message;
  if (current.status === 'terminating') {
    return {
      ...base,
      last_status: current.last_status ?? 'ready',
      termination_kind: current.termination_kind ?? 'hard',
      termination_reason: current.termination_reason ?? fallbackReason,
    };
  }
  return { ...base, last_status: current.status, termination_reason: fallbackReason };
}

/**
 * Whether `next` may replace `current`: forward only, plus the one same-status move
 * Plane lost (terminating soft → hard).
 */
export function isForwardTransition(current: BackendState, next: BackendState): boolean {
  if (RANK[next.status] > RANK[current.status]) return true;
  return (
    current.status === 'terminating' &&
    next.status === 'terminating' &&
    current.termination_kind === 'soft' &&
    next.termination_kind === 'hard'
  );
}
