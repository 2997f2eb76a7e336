/** The one error type the client throws for a failed call. */
import { isApiErrorKind, type ApiErrorBody, type ApiErrorKind } from '@jetplane/protocol';

const BRAND = Symbol.for('jetplane.JetPlaneClientError');

/**
 * A call that failed: the server answered with an error (`status` ≥ 400, `body` = its `{id, kind, message}`
 * when it sent one), or the server could not be reached (`status` 0, `kind` `Unavailable`).
 */
export class JetPlaneClientError extends Error {
  override readonly name = 'JetPlaneClientError';
  /** HTTP status (or the `status` of a NATS error reply); 0 when there was no answer at all. */
  readonly status: number;
  /** The server's error body, when it sent one. */
  readonly body: ApiErrorBody | undefined;

  constructor(status: number, body: ApiErrorBody | undefined, message?: string, options?: { cause?: unknown }) {
    super(body?.message ?? message ?? `HTTP ${status}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.body = body;
  }

  /** Plane's error kind; `Unavailable` when the server was not reached, `Other` when it sent no kind. */
  get kind(): ApiErrorKind {
    if (this.body) return this.body.kind;
    return this.status === 0 ? 'Unavailable' : 'Other';
  }

  /** The server's error id (to find the matching log line), when it sent one. */
  get id(): string | undefined {
    return this.body?.id;
  }

  /** `KeyHeld: Lock is held but tag does not match.` */
  describe(): string {
    return `${this.kind}: ${this.message}`;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
Object.defineProperty(JetPlaneClientError.prototype, BRAND, { value: true });

/** The `{id, kind, message}` in `value`, if it is one (unknown kinds are kept as `Other`). */
export function parseApiErrorBody(value: unknown): ApiErrorBody | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.message !== 'string' || typeof v.kind !== 'string') return undefined;
  return {
    id: typeof v.id === 'string' ? v.id : '',
    kind: isApiErrorKind(v.kind) ? v.kind : 'Other',
    message: v.message,
  };
}

/** An error from an HTTP answer with status ≥ 400 and body text `text`. */
export function errorFromResponse(status: number, text: string): JetPlaneClientError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const body = parseApiErrorBody(parsed);
  const fallback = text.trim().slice(0, 200) || `HTTP ${status}`;
  return new JetPlaneClientError(status, body, body ? undefined : `HTTP ${status}: ${fallback}`);
}

/**
 * The result of a NATS request-reply: the value, or a thrown {@link JetPlaneClientError} for a
 * `{"error": {id, kind, message}, "status": N}` reply.
 */
export function fromNatsReply<T>(reply: unknown): T {
  if (typeof reply === 'object' && reply !== null && 'error' in reply) {
    const r = reply as { error: unknown; status?: unknown };
    const body = parseApiErrorBody(r.error);
    if (body) {
      const status = typeof r.status === 'number' ? r.status : 500;
      throw new JetPlaneClientError(status, body);
    }
  }
  return reply as T;
}
