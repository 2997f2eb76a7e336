/** Every NATS name the system uses: subjects, streams, KV buckets, queue groups, consumers. */

export const Buckets = {
  tokens: 'jetplane_tokens',
  backends: 'jetplane_backends',
  keys: 'jetplane_keys',
  drones: 'jetplane_drones',
} as const;

export const Streams = {
  /** Lifecycle events, `jetplane.events.>`. */
  events: 'JETPLANE_EVENTS',
  /** Per-drone work queue (spawn, terminate), `jetplane.work.>`. */
  work: 'JETPLANE_WORK',
  /** Backend stdout/stderr lines, `jetplane.logs.<backend>` (bounded per subject and by age). */
  logs: 'JETPLANE_LOGS',
  /** Latest CPU/memory sample per backend, `jetplane.stats.<backend>` (one kept per subject). */
  stats: 'JETPLANE_STATS',
} as const;

export const QueueGroups = { controllers: 'jetplane-controllers' } as const;

export const Subjects = {
  /** Request-reply, queue group {@link QueueGroups.controllers}: body = connect request. */
  connect: 'jetplane.ctrl.connect',
  /** Request-reply: `{cluster, backend_id, hard?}`. */
  terminate: 'jetplane.ctrl.terminate',
  /** Request-reply: `{cluster, drone}`. */
  drain: 'jetplane.ctrl.drain',
  eventsAll: 'jetplane.events.>',
  workAll: 'jetplane.work.>',
  /** Work for one drone (spawn / terminate), consumed by its durable consumer. */
  work: (drone: string): string => `jetplane.work.${drone}`,
  backendStatusEvent: (backendId: string): string => `jetplane.events.backend.${backendId}.status`,
  backendEvents: (backendId: string): string => `jetplane.events.backend.${backendId}.>`,
  tokenEvent: (backendId: string, what: 'issued' | 'revoked'): string =>
    `jetplane.events.token.${backendId}.${what}`,
  droneEvent: (drone: string, what: string): string => `jetplane.events.drone.${drone}.${what}`,
  logsAll: 'jetplane.logs.>',
  /** A backend's output lines (`BackendLogLine`), published by its drone. */
  backendLogs: (backendId: string): string => `jetplane.logs.${backendId}`,
  statsAll: 'jetplane.stats.>',
  /** A backend's resource use (`BackendStats`), published by its drone every few seconds. */
  backendStats: (backendId: string): string => `jetplane.stats.${backendId}`,
  /** Core NATS (not stored): proxies' coalesced `ActivityReport`s for the backends of one drone. */
  activity: (drone: string): string => `jetplane.activity.${drone}`,
  /** Request-reply to one drone: `LivenessRequest` → `DroneLivenessReply` (why a backend is still alive). */
  droneInspect: (drone: string): string => `jetplane.drone.${drone}.inspect`,
} as const;

/** Name of a drone's durable work consumer. */
export const workConsumerName = (drone: string): string => `work-${drone}`;

/** KV key layout of `jetplane_tokens`. */
export const TokenKeys = {
  /** Route record, keyed by the SHA-256 (base64url) of the token. */
  route: (tokenHash: string): string => `r.${tokenHash}`,
  /** Index entry so a backend's tokens can be found and revoked. */
  byBackend: (backendId: string, tokenHash: string): string => `b.${backendId}.${tokenHash}`,
  byBackendFilter: (backendId: string): string => `b.${backendId}.*`,
  routeFilter: 'r.>',
  ROUTE_PREFIX: 'r.',
} as const;
