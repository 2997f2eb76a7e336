/** `GET /pub/.../status`: the public view of a backend's state (never its address). */
import { ApiError, type BackendState, type StatusEntry } from '@jetplane/protocol';

/** Plane's `BackendStatusStreamEntry` built from a stored state. */
export function statusEntry(state: BackendState): StatusEntry {
  const entry: StatusEntry = { status: state.status, time: state.time };
  const ending = state.status === 'terminating' || state.status === 'terminated';
  if (ending && state.termination_reason) entry.termination_reason = state.termination_reason;
  if (ending && state.termination_kind) entry.termination_kind = state.termination_kind;
  if (state.status === 'terminated') {
    const code = state.exit_code ?? null;
    entry.exit_error = code !== null && code !== 0;
    entry.exit_code = code;
    // Why it could not be started (e.g. a missing image): drones never put secrets there.
    if (state.message) entry.message = state.message;
  }
  return entry;
}

export function backendNotFound(): ApiError {
  return new ApiError('NotFound', 'Backend does not exist');
}
