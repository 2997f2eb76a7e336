/** Reading errors from the Docker Engine API (docker-modem) into status codes and plain messages. */

interface ModemError {
  statusCode?: unknown;
  json?: unknown;
  reason?: unknown;
  code?: unknown;
  message?: unknown;
}

/** The HTTP status Docker answered with, if the error is an API answer (not a connection failure). */
export function dockerStatus(err: unknown): number | undefined {
  const status = (err as ModemError | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Docker's own message (`No such image: x:latest`), else the connection error, else the error text.
 * Requests never carry credentials in their messages: registry auth travels in a header.
 */
export function dockerMessage(err: unknown): string {
  const e = (err ?? {}) as ModemError;
  const json = e.json as { message?: unknown } | string | null | undefined;
  if (json && typeof json === 'object' && typeof json.message === 'string' && json.message) return json.message.trim();
  if (typeof json === 'string' && json.trim()) return json.trim();
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
    return `cannot reach the Docker daemon (${String(e.code)})`;
  }
  const message = typeof e.message === 'string' ? e.message : String(err);
  // "(HTTP code 404) no such container - No such container: x " → the part after the dash.
  return message.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim() || message;
}

/** 304 (already stopped), 404 (no such container), 409 (already gone / being removed): nothing to do. */
export function isNothingToDo(err: unknown): boolean {
  const status = dockerStatus(err);
  return status === 304 || status === 404 || status === 409;
}

export function isNotFound(err: unknown): boolean {
  return dockerStatus(err) === 404;
}
