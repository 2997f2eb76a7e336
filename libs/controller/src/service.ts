/**
 * The controller's operations, independent of transport: the HTTP routes and the NATS handlers
 * both call these with already-validated input.
 */
import {
  isValidName,
  type BackendListing,
  type ConnectRequest,
  type DrainResponse,
  type DroneListing,
  type ListQuery,
  type StatusEntry,
} from '@jetplane/protocol';
import type { JetPlane, KvEntry } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { connect, type ConnectDeps, type ConnectReply } from './connect.js';
import { drain, droneNotFound } from './drain.js';
import type { DroneDirectory } from './drone-directory.js';
import { normalizeQuery, type BackendView } from './listings.js';
import { backendNotFound, statusEntry } from './status.js';
import { terminate, type TerminateCommand } from './terminate.js';

export type StatusWatch = AsyncIterable<KvEntry> & { stop(): void };

export interface ControllerApi {
  connect(req: ConnectRequest): Promise<ConnectReply>;
  /** Resolves false when the backend had already terminated (a successful no-op). */
  terminate(cmd: TerminateCommand): Promise<boolean>;
  drain(cluster: string, drone: string): Promise<DrainResponse>;
  status(backendId: string, cluster?: string): Promise<StatusEntry>;
  /** The backend's history then live changes; NotFound before anything is returned. */
  watchStatus(backendId: string, cluster?: string): Promise<StatusWatch>;
  listDrones(query: ListQuery): DroneListing[];
  listBackends(query: ListQuery): BackendListing[];
  /** Connected to NATS. */
  healthy(): boolean;
}

export interface ServiceParts {
  jp: JetPlane;
  directory: DroneDirectory;
  backendView: BackendView;
  log: Logger;
  connectDeps: ConnectDeps;
}

export function createControllerApi({ jp, directory, backendView, log, connectDeps }: ServiceParts): ControllerApi {
  /** The record, or NotFound: ids that cannot exist (bad characters) are not even looked up. */
  const findBackend = async (backendId: string, cluster?: string) => {
    if (!isValidName(backendId)) throw backendNotFound();
    const found = await jp.backends.get(backendId);
    if (!found || (cluster && found.value.cluster !== cluster)) throw backendNotFound();
    return found.value;
  };

  return {
    connect: (req) => connect(connectDeps, req),
    terminate: async (cmd) => {
      if (!isValidName(cmd.backendId)) throw backendNotFound();
      return terminate({ backends: jp.backends, work: jp.work, log }, cmd);
    },
    drain: async (cluster, drone) => {
      if (!isValidName(drone)) throw droneNotFound();
      return drain({ drones: jp.drones, events: jp.events, log }, cluster, drone);
    },
    status: async (backendId, cluster) => statusEntry((await findBackend(backendId, cluster)).state),
    watchStatus: async (backendId, cluster) => {
      await findBackend(backendId, cluster);
      return jp.backends.watchHistory(backendId);
    },
    listDrones: (query) => directory.list(normalizeQuery(query)),
    listBackends: (query) => backendView.list(query),
    healthy: () => jp.isConnected(),
  };
}
