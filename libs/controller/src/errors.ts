/**
 * Turning anything thrown into the `{id, kind, message}` a caller sees. Internal causes never reach
 * the caller; 5xx are logged with the same `id` so an operator can find them.
 */
import { ApiError } from '@jetplane/protocol';
import { isNatsUnavailable } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';

interface FastifyishError {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  message?: unknown;
}

/** Map a thrown value (ApiError, fastify error, anything) to an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyishError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PayloadTooLarge', undefined, { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('InvalidRequest', 'Unsupported Content-Type: send application/json.', { cause: err });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('InvalidRequest', 'body: is not valid JSON', { cause: err });
  }
  if (err instanceof SyntaxError) return new ApiError('InvalidRequest', 'body: is not valid JSON', { cause: err });
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return new ApiError('PayloadTooLarge', undefined, { cause: err });
  if (status >= 400 && status < 500) {
    // Fastify's own 4xx messages describe the request (bad header, bad length), never internals.
    const message = typeof e.message === 'string' && e.message ? e.message : undefined;
    return new ApiError('InvalidRequest', message, { cause: err });
  }
  if (isNatsUnavailable(err)) {
    return new ApiError('Unavailable', 'JetStream is not answering right now (e.g. a leader election); retry shortly.', {
      cause: err,
      retryAfter: 1,
    });
  }
  return new ApiError('Other', undefined, { cause: err });
}

/** Log a failure the caller will see: 5xx always (error for `Other`), 4xx at debug. */
export function logApiError(log: Logger, error: ApiError, context: Record<string, unknown> = {}): void {
  const fields: Record<string, unknown> = { ...context, error_id: error.id, kind: error.kind, status: error.status };
  // The stack only helps for faults; an expected outcome (NoDroneAvailable, ...) is its kind and message.
  if (error.cause !== undefined) fields.err = error.cause;
  else if (error.kind === 'Other') fields.err = error;
  if (error.kind === 'Other') log.error(fields, error.message);
  else if (error.status >= 500) log.warn(fields, error.message);
  else log.debug(fields, error.message);
}
