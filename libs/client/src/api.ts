/** What the CLI needs from a control plane, whether reached over HTTP or NATS. */
import type {
  BackendListing,
  ConnectRequest,
  ConnectResponse,
  DrainResponse,
  DroneListing,
  ListQuery,
  StatusEntry,
} from '@jetplane/protocol';
import type { StatusStreamOptions } from './client.js';

export interface ControlApi {
  connect(req: ConnectRequest): Promise<ConnectResponse>;
  status(backendId: string, cluster?: string | null): Promise<StatusEntry>;
  /** Every status from the first, then live ones; ends after `terminated`. */
  statusStream(backendId: string, opts?: StatusStreamOptions): AsyncIterable<StatusEntry>;
  terminate(cluster: string | null | undefined, backendId: string, hard?: boolean): Promise<void>;
  drain(cluster: string, drone: string): Promise<DrainResponse>;
  listDrones(query?: ListQuery): Promise<DroneListing[]>;
  listBackends(query?: ListQuery): Promise<BackendListing[]>;
  close(): Promise<void>;
}
