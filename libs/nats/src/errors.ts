/** Recognising JetStream failures that are expected outcomes, not faults. */

/** JetStream API code for "wrong last sequence": a revision-checked write lost a race. */
const WRONG_LAST_SEQUENCE = 10071;

export function isRevisionConflict(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  if (e.api_error?.err_code === WRONG_LAST_SEQUENCE) return true;
  if (typeof (e as { apiError?: () => { err_code?: number } }).apiError === 'function') {
    const api = (e as { apiError: () => { err_code?: number } }).apiError();
    if (api?.err_code === WRONG_LAST_SEQUENCE) return true;
  }
  return typeof e.message === 'string' && e.message.includes('wrong last sequence');
}

export function isNotFound(err: unknown): boolean {
  const message = (err as { message?: string } | null)?.message ?? '';
  return /not found/i.test(message);
}

const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'NoRespondersError',
  'ClosedConnectionError',
  'ConnectionError',
  'DrainingConnectionError',
  'JetStreamNotEnabled',
  'RequestError',
]);

/**
 * NATS or JetStream is not answering right now (disconnected, a leader election, no responders):
 * worth a 503 and a retry rather than a 500.
 */
export function isNatsUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { name, message, cause } = e as { name?: string; message?: string; cause?: unknown };
    if (name && UNAVAILABLE_NAMES.has(name)) return true;
    if (typeof message === 'string' && /no responders|timeout|jetstream not enabled|closed connection|disconnect/i.test(message)) return true;
    e = cause;
  }
  return false;
}
