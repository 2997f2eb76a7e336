/**
 * The controller's operations, independent of transport: the HTTP routes and the NATS handlers
 * both call these with already-validated input.
 */
import {
  Timing,
  isValidName,
  type BackendLiveness,
  type BackendListing,
  type ConnectRequest,
  type DrainResponse,
  type DroneListing,
  type ListQuery,
  type StatusEntry,
} from '@jetplane/protocol';
import { BackendLogReader, type JetPlane, type KvEntry } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { connect, type ConnectDeps, type ConnectReply } from './connect.js';
import { drain, droneNotFound } from './drain.js';
import type { DroneDirectory } from './drone-directory.js';
import { normalizeQuery, type BackendView } from './listings.js';
import { openLogFeed, type LogFeed, type LogFeedOptions } from './logs.js';
import type { StatsView } from './stats-view.js';
import { backendNotFound, statusEntry } from './status.js';
import { terminate, type TerminateCommand } from './terminate.js';
import { backendLiveness } from './liveness.js';

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
  /** The backend's output lines (see `logs.ts`); NotFound before anything is returned. */
  logs(backendId: string, cluster: string | undefined, opts: LogFeedOptions): Promise<LogFeed>;
  /** Connected to NATS. */
  healthy(): boolean;
  /** Why a backend is still alive, asked of its drone (see `liveness.ts`); absent in tests without NATS. */
  liveness?(backendId: string, cluster?: string): Promise<BackendLiveness>;
}

export interface ServiceParts {
  jp: JetPlane;
  directory: DroneDirectory;
  backendView: BackendView;
  log: Logger;
  connectDeps: ConnectDeps;
  /** Latest resource samples, shown with the status of live backends. */
  stats?: StatsView;
  /** How long `liveness` waits for the drone (default `Timing.droneInspectTimeoutMs`). */
  livenessTimeoutMs?: number;
}

export function createControllerApi({ jp, directory, backendView, log, connectDeps, stats, livenessTimeoutMs }: ServiceParts): ControllerApi {
  const logReader = new BackendLogReader(jp.streams.js, jp.streams.jsm);
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
    status: async (backendId, cluster) => {
      const { state } = await findBackend(backendId, cluster);
      const entry = statusEntry(state);
      const usage = state.status !== 'terminated' ? stats?.get(backendId) : undefined;
      return usage ? { ...entry, stats: usage } : entry;
    },
    watchStatus: async (backendId, cluster) => {
      await findBackend(backendId, cluster);
      return jp.backends.watchHistory(backendId);
    },
    listDrones: (query) => directory.list(normalizeQuery(query)),
    listBackends: (query) => backendView.list(query),
    logs: async (backendId, cluster, opts) => {
      await findBackend(backendId, cluster);
      return openLogFeed({ reader: logReader, backends: jp.backends }, backendId, opts);
    },
    healthy: () => jp.isConnected(),
    liveness: (backendId, cluster) => backendLiveness({ backends: jp.backends, nc: jp.nc, timeoutMs: livenessTimeoutMs ?? Timing.droneInspectTimeoutMs }, backendId, cluster),
  };
}
