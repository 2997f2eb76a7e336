/** Recording status changes and releasing what a terminated backend held, with retries that never throw. */
import { hashToken, tokenFingerprint, type BackendStore, type EventPublisher, type KeyStore, type TokenStore } from '@jetplane/nats';
import type { BackendRecord, BackendState } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import { withRetry, type RetryPolicy } from './retry.js';
import { statusEvent, statusEventId } from './transitions.js';

/** The slices of the stores the drone's backend handling uses (narrow, so tests can fake them). */
export interface DroneStores {
  backends: Pick<BackendStore, 'get' | 'transition'>;
  tokens: Pick<TokenStore, 'revokeBackend'>;
  keys: Pick<KeyStore, 'releaseIfHeldBy'>;
  events: Pick<EventPublisher, 'publish'>;
}

export type WriteOutcome =
  | { kind: 'written'; record: BackendRecord }
  /** The record is missing, or the change was not forward (someone got there first). */
  | { kind: 'declined' }
  /** NATS kept failing. */
  | { kind: 'failed'; error: unknown };

interface Io {
  log: Logger;
  retry?: RetryPolicy;
}

function retryOptions(io: Io): { log: Logger; policy?: RetryPolicy } {
  return io.retry ? { log: io.log, policy: io.retry } : { log: io.log };
}

/**
 * Move the record with `next` (re-evaluated on every attempt); the caller publishes its event
 * (`publishStatus`), so the next step need not wait for it. `io.log` is expected to carry the backend id.
 */
export async function writeStatus(
  stores: DroneStores,
  backendId: string,
  next: (current: BackendRecord) => BackendState | undefined,
  io: Io,
): Promise<WriteOutcome> {
  const opts = retryOptions(io);
  const written = await withRetry(`record status of ${backendId}`, () => stores.backends.transition(backendId, next), opts);
  if (!written.ok) return { kind: 'failed', error: written.error };
  if (!written.value) return { kind: 'declined' };
  const record = written.value.after;
  io.log.info({ status: record.state.status, state: record.state }, 'backend status');
  return { kind: 'written', record };
}

/** The `backend.status` event of a stored status (retried; a failure is logged, never thrown). */
export async function publishStatus(stores: DroneStores, record: BackendRecord, io: Io): Promise<void> {
  const opts = retryOptions(io);
  await withRetry(`publish ${record.state.status} of ${record.id}`, () => stores.events.publish(statusEvent(record), statusEventId(record)), opts);
}

/** `writeStatus`, then its event. */
export async function recordStatus(
  stores: DroneStores,
  backendId: string,
  next: (current: BackendRecord) => BackendState | undefined,
  io: Io,
): Promise<WriteOutcome> {
  const outcome = await writeStatus(stores, backendId, next, io);
  if (outcome.kind === 'written') await publishStatus(stores, outcome.record, io);
  return outcome;
}

/** After `terminated`: revoke every token (one `token.revoked` each), then free the key if still ours. */
export async function releaseBackend(stores: DroneStores, record: BackendRecord, io: Io): Promise<void> {
  const opts = retryOptions(io);
  const revoked = await withRetry(`revoke tokens of ${record.id}`, () => stores.tokens.revokeBackend(record.id), opts);
  if (revoked.ok) {
    const staticHash = record.static_token ? hashToken(record.static_token) : null;
    await Promise.all(
      revoked.value.map((hash) => {
        const fingerprint = tokenFingerprint(hash);
        const event = {
          type: 'token.revoked' as const,
          cluster: record.cluster,
          time: Date.now(),
          backend_id: record.id,
          fingerprint,
          static: hash === staticHash,
        };
        return withRetry(`publish token.revoked of ${record.id}`, () => stores.events.publish(event, `${record.id}:revoked:${fingerprint}`), opts);
      }),
    );
  }
  const { namespace, name } = record.key;
  await withRetry(`release key of ${record.id}`, () => stores.keys.releaseIfHeldBy(namespace, name, record.id), opts);
}
