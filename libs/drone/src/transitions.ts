/** Pure state helpers for the drone's side of the backend lifecycle (no I/O, easy to test). */
import { constants } from 'node:os';
import {
  isLive,
  statusRank,
  toTerminated,
  toTerminating,
  type BackendRecord,
  type BackendState,
  type BackendStatusEvent,
  type TerminationKind,
  type TerminationReason,
} from '@jetplane/protocol';
import type { ExitInfo } from './executor.js';

export interface EndRequest {
  kind: TerminationKind;
  reason: TerminationReason;
}

/** `loading` is the drone accepting a spawn: only from `scheduled`, only for a record addressed to it. */
export function toLoading(record: BackendRecord, drone: string, time: number): BackendState | undefined {
  if (record.drone !== drone || record.state.status !== 'scheduled') return undefined;
  return { status: 'loading', time };
}

/** The next step while the backend comes up; `undefined` once it is going away or already further. */
export function toLiveStatus(
  current: BackendState,
  status: 'starting' | 'waiting' | 'ready',
  time: number,
  address?: string,
): BackendState | undefined {
  if (!isLive(current.status) || statusRank(status) <= statusRank(current.status)) return undefined;
  return address === undefined ? { status, time } : { status, time, address };
}

/**
 * `terminated` from wherever the record is. A terminate this drone acted on but failed to record
 * (`terminating` write lost to a NATS outage) still decides the reason and kind.
 */
export function toEnded(
  current: BackendState,
  time: number,
  opts: { exitCode: number | null; request: EndRequest | null; fallbackReason: TerminationReason; message?: string },
): BackendState | undefined {
  if (current.status === 'terminated') return undefined;
  const base =
    current.status !== 'terminating' && opts.request
      ? (toTerminating(current, opts.request.kind, opts.request.reason, time) ?? current)
      : current;
  return toTerminated(base, time, opts.exitCode, opts.fallbackReason, opts.message);
}

/** A backend this drone does not run (any more): it is gone, say so (Plane: `lost`, quirk Q7). */
export function toLost(current: BackendState, time: number): BackendState | undefined {
  return toTerminated(current, time, null, 'lost');
}

/** Docker's convention, so both executors report alike: a signal death is 128 + the signal number. */
export function exitCodeOf(info: ExitInfo): number | null {
  if (info.exitCode !== null) return info.exitCode;
  if (info.signal === null) return null;
  const n = constants.signals[info.signal];
  return typeof n === 'number' ? 128 + n : null;
}

export function statusEvent(record: BackendRecord): BackendStatusEvent {
  return {
    type: 'backend.status',
    cluster: record.cluster,
    time: record.state.time,
    backend_id: record.id,
    drone: record.drone,
    status: record.state.status,
    state: record.state,
  };
}

/** Derived from what the event says, so a retried publish is stored once (soft→hard is a second event). */
export function statusEventId(record: BackendRecord): string {
  const { status, termination_kind } = record.state;
  return status === 'terminating' ? `${record.id}:terminating:${termination_kind ?? 'hard'}` : `${record.id}:${status}`;
}
