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
