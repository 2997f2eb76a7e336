/**
 * Connect: get or create the backend holding a key (Plane's semantics, on JetStream KV).
 * There is no in-memory lock: `KeyStore.acquire` (KV create) decides who spawns, even across
 * controllers, and its revision is the fencing token. Losers go back to reading the key.
 */
import {
  ApiError,
  connectionUrl,
  executorKindOf,
  isValidClusterName,
  newBackendId,
  newConnectionToken,
  newRandomKeyName,
  newSecretToken,
  newStaticToken,
  type BackendRecord,
  type BackendStatus,
  type ConnectRequest,
  type ConnectResponse,
  type KeyRecord,
  type ResolvedKey,
  type SpawnConfig,
  type Timing,
} from '@jetplane/protocol';
import { isRevisionConflict, type BackendStore, type KeyStore, type Versioned } from '@jetplane/nats';
import type { DroneDirectory } from './drone-directory.js';
import type { Fencing } from './fencing.js';
import { backendRecordFor, createBackend, launchBackend, type Connection, type SpawnDeps } from './spawn.js';
import { issueToken } from './tokens.js';

/**
 * `ConnectResponse` with `status` typed as the status union: the protocol schema's `Static` of a
 * `.map()`-built union is `never` (reported). Structurally identical once that is fixed.
 */
export type ConnectReply = Omit<ConnectResponse, 'status'> & { status: BackendStatus };

export interface ConnectDeps extends SpawnDeps {
  keys: Pick<KeyStore, 'acquire' | 'get' | 'releaseAt'>;
  backends: Pick<BackendStore, 'create' | 'get' | 'transition'>;
  directory: Pick<DroneDirectory, 'pick' | 'cancelSpawn'>;
  /** Base of `status_url` (known once the HTTP server listens). */
  publicUrl: () => string;
  defaultCluster?: string;
  timing: Pick<Timing, 'orphanKeyAfterMs'>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long a key may point at a backend record that does not exist yet (a racing connect). */
  recordWaitMs?: number;
  /** How long to wait for a `terminating` backend to end before answering 409. */
  terminatingWaitMs?: number;
  /**
   * Lease checks: a key whose holder's drone is lost or whose lease expired is taken over (the old
   * backend ends `lost` / `keyexpired`) and spawned anew. Without it, a held key is always trusted.
   */
  fencing?: Pick<Fencing, 'staleHolder' | 'takeOver'>;
  /**
   * The backend this controller last saw holding a key (its key watch), if any: that record is read
   * together with the key, so a reconnect costs one round trip of reads instead of two.
   */
  holderOf?: (namespace: string, name: string) => string | undefined;
}

const POLL_MS = 100;
const MAX_ROUNDS = 200;
const DEFAULT_RECORD_WAIT_MS = 3_000;
const DEFAULT_TERMINATING_WAIT_MS = 5_000;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function resolveKey(key: ConnectRequest['key']): ResolvedKey {
  if (!key) return { name: newRandomKeyName(), namespace: '', tag: '' };
  return { name: key.name, namespace: key.namespace ?? '', tag: key.tag ?? '' };
}

/** The cluster a spawn goes to: `spawn_config.cluster`, else the controller's default. */
export function resolveCluster(spawn: SpawnConfig, defaultCluster: string | undefined): string {
  const cluster = spawn.cluster ?? defaultCluster;
  if (!cluster) throw new ApiError('NoClusterProvided');
  if (!isValidClusterName(cluster)) throw new ApiError('InvalidClusterName', `Invalid cluster name: ${JSON.stringify(cluster)}.`);
  return cluster;
}

export function statusUrl(publicUrl: string, backendId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/pub/b/${backendId}/status`;
}

export function connectResponse(
  publicUrl: string,
  backend: BackendRecord,
  connection: Connection,
  spawned: boolean,
): ConnectReply {
  return {
    backend_id: backend.id,
    spawned,
    status: spawned ? 'scheduled' : backend.state.status,
    token: connection.token,
    url: connectionUrl(backend.cluster, connection.token, backend.subdomain),
    subdomain: backend.subdomain,
    secret_token: connection.secret,
    status_url: statusUrl(publicUrl, backend.id),
    drone: spawned ? backend.drone : null,
  };
}

export async function connect(deps: ConnectDeps, req: ConnectRequest): Promise<ConnectReply> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const key = resolveKey(req.key);
  const user = req.user ?? null;
  const auth = req.auth ?? {};
  let missingSince: number | undefined;

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { held, backend } = await readKey(deps, key);
    if (held) {
      if (!backend) {
        // Another controller is between acquire and create, or died there (orphan).
        if (now() - held.value.acquired_at > deps.timing.orphanKeyAfterMs) {
          deps.log.warn({ backend_id: held.value.backend_id }, 'releasing orphaned key');
          await deps.keys.releaseAt(key.namespace, key.name, held.revision);
          continue;
        }
        missingSince ??= now();
        if (now() - missingSince > (deps.recordWaitMs ?? DEFAULT_RECORD_WAIT_MS)) {
          throw new ApiError('FailedToAcquireKey', 'Failed to acquire lock: another request is creating this backend; retry.', {
            retryAfter: 1,
          });
        }
        await sleep(POLL_MS / 2 + Math.random() * POLL_MS);
        continue;
      }
      missingSince = undefined;
      const status = backend.value.state.status;
      if (status !== 'terminated' && deps.fencing) {
        const stale = await deps.fencing.staleHolder(backend.value, held);
        if (stale) {
          deps.log.info({ backend_id: backend.value.id, drone: backend.value.drone, reason: stale }, 'key holder is gone: taking the key over');
          await deps.fencing.takeOver(backend.value, stale, stale === 'keyexpired' ? held.revision : undefined);
          continue;
        }
      }
      if (status === 'terminated') {
        // The drone's release was lost or is late: free the key unless someone re-took it.
        await deps.keys.releaseAt(key.namespace, key.name, held.revision);
        continue;
      }
      if (status === 'terminating') {
        await waitForTerminated(deps, held, sleep, now);
        continue;
      }
      if (held.value.tag !== key.tag) throw new ApiError('KeyHeld');
      const connection = await connectionFor(deps, backend.value, user, auth, now());
      return connectResponse(deps.publicUrl(), backend.value, connection, false);
    }

    if (!req.spawn_config) throw new ApiError('KeyUnheldNoSpawnConfig');
    const spawned = await trySpawn(deps, req.spawn_config, key, user, auth, now());
    if (spawned) return spawned;
  }
  throw new ApiError('FailedToAcquireKey', 'Failed to acquire lock: too much contention on this key; retry.', { retryAfter: 1 });
}

/**
 * The key and, when held, its backend record. The backend this controller expects is read in parallel
 * with the key, and that read is used only if it found the very backend the key names: backend records
 * are never deleted and their status only moves forward, so a record read just before the key read is
 * one a read just after it could have returned. A wrong, missing or failed guess costs one more read.
 */
async function readKey(
  deps: ConnectDeps,
  key: ResolvedKey,
): Promise<{ held: Versioned<KeyRecord> | null; backend: Versioned<BackendRecord> | null }> {
  const guess = deps.holderOf?.(key.namespace, key.name);
  const reading = deps.keys.get(key.namespace, key.name);
  const guessing = guess ? deps.backends.get(guess).catch(() => null) : null;
  const [held, guessed] = await Promise.all([reading, guessing]);
  if (!held) return { held, backend: null };
  if (guessed?.value.id === held.value.backend_id) return { held, backend: guessed };
  return { held, backend: await deps.backends.get(held.value.backend_id) };
}

/** Take the key and spawn, or `undefined` when another request took the key first. */
async function trySpawn(
  deps: ConnectDeps,
  spawn: SpawnConfig,
  key: ResolvedKey,
  user: string | null,
  auth: Record<string, unknown>,
  time: number,
): Promise<ConnectReply | undefined> {
  const cluster = resolveCluster(spawn, deps.defaultCluster);
  const pool = spawn.pool ?? '';
  const drone = deps.directory.pick(cluster, pool, executorKindOf(spawn.executable));
  const id = spawn.id ?? newBackendId();
  const keyRecord: KeyRecord = { ...key, backend_id: id, acquired_at: time };
  let fencingToken: number | undefined;
  try {
    fencingToken = await deps.keys.acquire(keyRecord);
  } finally {
    if (fencingToken === undefined) deps.directory.cancelSpawn(drone);
  }
  if (fencingToken === undefined) return undefined;

  const record = backendRecordFor({
    id,
    cluster,
    pool,
    drone,
    key,
    fencingToken,
    time,
    staticToken: spawn.use_static_token ? newStaticToken() : null,
    spawn,
  });
  try {
    await createBackend(deps, record);
  } catch (err) {
    if (isRevisionConflict(err)) throw new ApiError('FailedToAcquireKey', `Failed to acquire lock: backend id ${id} already exists.`);
    throw err;
  }
  deps.log.debug({ backend_id: id, drone, cluster, fencing_token: fencingToken }, 'spawning backend');
  const connection = await launchBackend(deps, record, user, auth);
  return connectResponse(deps.publicUrl(), record, connection, true);
}

/** A token for an existing backend: its static token, else a fresh dynamic token with this caller's user/auth. */
async function connectionFor(
  deps: ConnectDeps,
  backend: BackendRecord,
  user: string | null,
  auth: Record<string, unknown>,
  time: number,
): Promise<Connection> {
  if (backend.static_token) return { token: backend.static_token, secret: null };
  const token = newConnectionToken();
  const secret = newSecretToken();
  await issueToken(deps, token, {
    backend_id: backend.id,
    cluster: backend.cluster,
    user,
    auth,
    secret_token: secret,
    static: false,
    issued_at: time,
  });
  return { token, secret };
}

/**
 * Decision Q13: a terminating backend's key is busy; wait (bounded) for it to end, free the key if
 * the drone has not yet, and let the caller start over. Past the bound: 409 `KeyHeld`.
 */
async function waitForTerminated(
  deps: ConnectDeps,
  held: Versioned<KeyRecord>,
  sleep: (ms: number) => Promise<void>,
  now: () => number,
): Promise<void> {
  const deadline = now() + (deps.terminatingWaitMs ?? DEFAULT_TERMINATING_WAIT_MS);
  const { namespace, name, backend_id } = held.value;
  while (now() < deadline) {
    await sleep(POLL_MS);
    const backend = await deps.backends.get(backend_id);
    if (!backend || backend.value.state.status === 'terminated') {
      await deps.keys.releaseAt(namespace, name, held.revision);
      return;
    }
  }
  throw new ApiError('KeyHeld', 'Lock is held by a backend that is still terminating; retry shortly.', { retryAfter: 1 });
}
