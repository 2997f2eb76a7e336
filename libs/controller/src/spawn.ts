/**
 * The spawn half of connect, run once this controller holds the key: backend record first (so a
 * racing connect that finds the key can find the backend), then work for the drone, the token and
 * the events. If that fails half-way the backend is marked `terminated` (`failed`) and the key freed,
 * so the key is not stuck behind a backend that will never start.
 */
import {
  newConnectionToken,
  newSecretToken,
  spawnWorkOf,
  toTerminated,
  type BackendRecord,
  type BackendState,
  type ResolvedKey,
  type SpawnConfig,
  type TokenRecord,
} from '@jetplane/protocol';
import type { BackendStore, EventPublisher, KeyStore, TokenStore, WorkQueue } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { issueToken } from './tokens.js';

export interface SpawnDeps {
  keys: Pick<KeyStore, 'releaseAt'>;
  backends: Pick<BackendStore, 'create' | 'transition'>;
  tokens: Pick<TokenStore, 'issue' | 'revokeBackend'>;
  events: Pick<EventPublisher, 'publish' | 'announce'>;
  work: Pick<WorkQueue, 'send'>;
  log: Logger;
}

export interface SpawnPlan {
  id: string;
  cluster: string;
  pool: string;
  drone: string;
  key: ResolvedKey;
  /** Revision of the key's creation. */
  fencingToken: number;
  time: number;
  staticToken: string | null;
  spawn: SpawnConfig;
}

export interface Connection {
  token: string;
  secret: string | null;
}

export function backendRecordFor(plan: SpawnPlan): BackendRecord {
  return {
    id: plan.id,
    cluster: plan.cluster,
    pool: plan.pool,
    drone: plan.drone,
    key: plan.key,
    executable: plan.spawn.executable,
    state: { status: 'scheduled', time: plan.time },
    static_token: plan.staticToken,
    subdomain: plan.spawn.subdomain ?? null,
    lifetime_limit_seconds: plan.spawn.lifetime_limit_seconds ?? null,
    max_idle_seconds: plan.spawn.max_idle_seconds ?? null,
    fencing_token: plan.fencingToken,
    created_at: plan.time,
  };
}

export function statusEvent(record: BackendRecord, state: BackendState) {
  return {
    type: 'backend.status' as const,
    cluster: record.cluster,
    time: state.time,
    backend_id: record.id,
    drone: record.drone,
    status: state.status,
    state,
  };
}

/** Create the record, freeing the key if that fails (e.g. a forced `spawn_config.id` already exists). */
export async function createBackend(deps: SpawnDeps, record: BackendRecord): Promise<void> {
  try {
    await deps.backends.create(record);
  } catch (err) {
    await deps.keys.releaseAt(record.key.namespace, record.key.name, record.fencing_token).catch(() => false);
    throw err;
  }
}

/** After the record exists: hand the work to the drone, issue the first token, announce `scheduled`. */
export async function launchBackend(
  deps: SpawnDeps,
  record: BackendRecord,
  user: string | null,
  auth: Record<string, unknown>,
): Promise<Connection> {
  const connection: Connection = record.static_token
    ? { token: record.static_token, secret: null }
    : { token: newConnectionToken(), secret: newSecretToken() };
  const tokenRecord: TokenRecord = record.static_token
    ? { backend_id: record.id, cluster: record.cluster, user: null, auth: null, secret_token: '', static: true, issued_at: record.created_at }
    : { backend_id: record.id, cluster: record.cluster, user, auth, secret_token: connection.secret!, static: false, issued_at: record.created_at };
  // Announced first so `scheduled` precedes the drone's `loading` on the stream.
  deps.events.announce(statusEvent(record, record.state), `backend.status:${record.id}:scheduled`, (err) =>
    deps.log.warn({ err, backend_id: record.id }, 'backend.status event not published'),
  );
  try {
    await Promise.all([
      deps.work.send(record.drone, spawnWorkOf(record), `spawn:${record.id}`),
      issueToken(deps, connection.token, tokenRecord),
    ]);
  } catch (err) {
    await abandon(deps, record);
    throw err;
  }
  return connection;
}

/** Best effort: end a backend that could not be scheduled, drop its tokens and free its key. */
async function abandon(deps: SpawnDeps, record: BackendRecord): Promise<void> {
  const log = deps.log.child({ backend_id: record.id });
  try {
    const moved = await deps.backends.transition(record.id, (current) =>
      toTerminated(current.state, Date.now(), null, 'failed', 'the controller could not schedule the backend'),
    );
    if (moved) {
      await deps.events.publish(statusEvent(moved.after, moved.after.state), `backend.status:${record.id}:terminated`).catch(() => undefined);
    }
    await deps.tokens.revokeBackend(record.id);
    await deps.keys.releaseAt(record.key.namespace, record.key.name, record.fencing_token);
  } catch (err) {
    log.error({ err }, 'cleanup after a failed spawn did not complete');
  }
}
