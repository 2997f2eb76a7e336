/** Request and response schemas of the public API (HTTP and NATS), Plane 0.4 compatible. */
import { Type, type Static } from 'typebox';
import { Executable } from './executables.js';
import { BACKEND_STATUSES } from './status.js';
import { NAME_PATTERN } from './names.js';
import { ApiErrorKind } from './errors.js';
import type { BackendUsage } from './backend-output.js';

/** Largest accepted request body, in bytes. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const KeyConfig = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  namespace: Type.Optional(Type.String({ maxLength: 256 })),
  tag: Type.Optional(Type.String({ maxLength: 256 })),
});
export type KeyConfig = Static<typeof KeyConfig>;
/** A key with its defaults filled in. */
export interface ResolvedKey {
  name: string;
  namespace: string;
  tag: string;
}

export const SpawnConfig = Type.Object({
  id: Type.Optional(Nullable(Type.String({ pattern: NAME_PATTERN }))),
  cluster: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 259 }))),
  pool: Type.Optional(Type.String({ maxLength: 45, pattern: '^([a-z0-9][a-z0-9-]*)?$' })),
  executable: Executable,
  lifetime_limit_seconds: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  max_idle_seconds: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  use_static_token: Type.Optional(Type.Boolean()),
  subdomain: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 63 }))),
});
export type SpawnConfig = Static<typeof SpawnConfig>;

export const ConnectRequest = Type.Object({
  key: Type.Optional(Nullable(KeyConfig)),
  spawn_config: Type.Optional(Nullable(SpawnConfig)),
  user: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
  auth: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type ConnectRequest = Static<typeof ConnectRequest>;

const Status = Type.Enum(BACKEND_STATUSES);

export const ConnectResponse = Type.Object({
  backend_id: Type.String(),
  spawned: Type.Boolean(),
  status: Status,
  token: Type.String(),
  url: Type.String(),
  subdomain: Nullable(Type.String()),
  secret_token: Nullable(Type.String()),
  status_url: Type.String(),
  drone: Nullable(Type.String()),
});
export type ConnectResponse = Static<typeof ConnectResponse>;

export const ApiErrorSchema = Type.Object({
  id: Type.String(),
  kind: Type.Enum(Object.values(ApiErrorKind) as ApiErrorKind[]),
  message: Type.String(),
});

/** Reply of a NATS request that failed: `{error, status}`. */
export interface NatsErrorReply {
  error: Static<typeof ApiErrorSchema>;
  status: number;
}

/** `GET /pub/.../status` and each SSE event. */
export interface StatusEntry {
  status: (typeof BACKEND_STATUSES)[number];
  time: number;
  termination_reason?: string;
  termination_kind?: string;
  exit_error?: boolean;
  exit_code?: number | null;
  /** Why a backend could not be started (never a secret). */
  message?: string;
  /** Latest CPU/memory sample of a live backend, when its drone reports one (`GET` status only, not SSE). */
  stats?: BackendUsage;
}

export const TerminateRequest = Type.Object({
  cluster: Type.Optional(Type.String()),
  backend_id: Type.String({ pattern: NAME_PATTERN }),
  hard: Type.Optional(Type.Boolean()),
});
export type TerminateRequest = Static<typeof TerminateRequest>;

export const DrainRequest = Type.Object({
  cluster: Type.String({ minLength: 1 }),
  drone: Type.String({ pattern: NAME_PATTERN }),
});
export type DrainRequest = Static<typeof DrainRequest>;

export interface DrainResponse {
  updated: boolean;
}

export const ListQuery = Type.Object({
  cluster: Type.Optional(Type.String()),
  pool: Type.Optional(Type.String()),
  state: Type.Optional(Type.String()),
});
export type ListQuery = Static<typeof ListQuery>;

/** One row of `GET /ctrl/drones`. */
export interface DroneListing {
  name: string;
  cluster: string;
  pool: string;
  state: string;
  healthy: boolean;
  executors: string[];
  backends: number;
  max_backends: number | null;
  last_heartbeat_age_ms: number;
}

/** One row of `GET /ctrl/backends`. */
export interface BackendListing {
  id: string;
  cluster: string;
  pool: string;
  drone: string;
  status: string;
  key: { namespace: string; name: string };
  created_at: number;
  status_time: number;
  termination_reason?: string;
  termination_kind?: string;
  exit_code?: number | null;
  /** Latest CPU/memory sample of a live backend, when its drone reports one. */
  stats?: BackendUsage;
}
