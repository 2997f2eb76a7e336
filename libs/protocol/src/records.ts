/** Values stored in the KV buckets: the single source of truth. */
import type { Executable, ExecutorKind } from './executables.js';
import type { ResolvedKey } from './api.js';
import type { BackendState } from './status.js';

/** `jetplane_tokens` / `r.<sha256(token)>`: everything the proxy needs to route and verify a token. */
export interface TokenRecord {
  backend_id: string;
  cluster: string;
  user: string | null;
  /** The connect `auth` object; sent as JSON in `x-verified-user-data`. `null` for static tokens. */
  auth: Record<string, unknown> | null;
  /** Sent as `x-verified-secret`; empty for static tokens. */
  secret_token: string;
  static: boolean;
  issued_at: number;
}

/** `jetplane_backends` / `<backend id>`. History is kept, so the key's history is the status stream. */
export interface BackendRecord {
  id: string;
  cluster: string;
  pool: string;
  drone: string;
  key: ResolvedKey;
  executable: Executable;
  state: BackendState;
  /** The backend's static token (`s.…`), so a later connect can hand it out again. */
  static_token: string | null;
  subdomain: string | null;
  lifetime_limit_seconds: number | null;
  max_idle_seconds: number | null;
  /** Strictly increases across acquisitions of one key: the key entry's creation revision. */
  fencing_token: number;
  created_at: number;
}

/** `jetplane_keys` / `keyId(namespace, name)`: who holds a key. */
export interface KeyRecord {
  namespace: string;
  name: string;
  tag: string;
  backend_id: string;
  acquired_at: number;
  /** Drone clock at the holder's last lease renewal; informational only (expiry uses the reader's clock). */
  renewed_at?: number;
}

/** `lost`: written by a controller once the drone's heartbeat has been silent for `droneLostAfterMs`. */
export type DroneState = 'ready' | 'draining' | 'stopped' | 'lost';

/** `jetplane_drones` / `<drone name>`: registration and heartbeat. */
export interface DroneRecord {
  name: string;
  cluster: string;
  pool: string;
  executors: ExecutorKind[];
  state: DroneState;
  /** Backends it runs that are not terminated. */
  backends: number;
  max_backends: number | null;
  version: string;
  started_at: number;
  /** Drone clock; informational only (liveness uses the reader's clock at receipt). */
  heartbeat_at: number;
}

/** Work for a drone on `jetplane.work.<drone>`. */
export type DroneWork =
  | {
      type: 'spawn';
      backend_id: string;
      cluster: string;
      executable: Executable;
      key: ResolvedKey;
      fencing_token: number;
      static_token: string | null;
    }
  | {
      type: 'terminate';
      backend_id: string;
      kind: 'soft' | 'hard';
      reason: BackendState['termination_reason'] & string;
    };

export type SpawnWork = Extract<DroneWork, { type: 'spawn' }>;

/** The spawn a backend record stands for: what the controller sends, and what a drone adopting it rebuilds. */
export function spawnWorkOf(record: BackendRecord): SpawnWork {
  return {
    type: 'spawn',
    backend_id: record.id,
    cluster: record.cluster,
    executable: record.executable,
    key: record.key,
    fencing_token: record.fencing_token,
    static_token: record.static_token,
  };
}
