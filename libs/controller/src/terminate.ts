/**
 * Terminate: queue a `terminate` for the backend's drone and answer at once (Plane does not wait).
 * The drone owns the state change; soft can be followed by hard (the drone escalates, Q2).
 */
import type { TerminationKind } from '@jetplane/protocol';
import type { BackendStore, WorkQueue } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { backendNotFound } from './status.js';

export interface TerminateDeps {
  backends: Pick<BackendStore, 'get'>;
  work: Pick<WorkQueue, 'send'>;
  log: Logger;
}

export interface TerminateCommand {
  backendId: string;
  kind: TerminationKind;
  /** From `/ctrl/c/:cluster/...` or the NATS request; when given it must be the backend's cluster. */
  cluster?: string;
}

/** Returns whether work was sent (false: already terminated, a successful no-op). */
export async function terminate(deps: TerminateDeps, cmd: TerminateCommand): Promise<boolean> {
  const current = await deps.backends.get(cmd.backendId);
  if (!current) throw backendNotFound();
  const backend = current.value;
  if (cmd.cluster && cmd.cluster !== backend.cluster) throw backendNotFound();
  if (backend.state.status === 'terminated') return false;
  // No message id: a repeated soft or a later hard must each reach the drone.
  await deps.work.send(backend.drone, { type: 'terminate', backend_id: backend.id, kind: cmd.kind, reason: 'external' });
  deps.log.debug({ backend_id: backend.id, drone: backend.drone, kind: cmd.kind }, 'terminate sent');
  return true;
}
