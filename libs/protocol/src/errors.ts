/** Plane's API error kinds, the HTTP status each maps to, and the typed error value every component throws. */
import { newErrorId } from './names.js';

export const ApiErrorKind = {
  KeyUnheldNoSpawnConfig: 'KeyUnheldNoSpawnConfig',
  KeyHeld: 'KeyHeld',
  KeyHeldUnhealthy: 'KeyHeldUnhealthy',
  NoDroneAvailable: 'NoDroneAvailable',
  NoClusterProvided: 'NoClusterProvided',
  NotFound: 'NotFound',
  InvalidClusterName: 'InvalidClusterName',
  FailedToAcquireKey: 'FailedToAcquireKey',
  FailedToRemoveKey: 'FailedToRemoveKey',
  InvalidRequest: 'InvalidRequest',
  PayloadTooLarge: 'PayloadTooLarge',
  TooManyBackends: 'TooManyBackends',
  Unavailable: 'Unavailable',
  Other: 'Other',
} as const;
export type ApiErrorKind = (typeof ApiErrorKind)[keyof typeof ApiErrorKind];

/** HTTP status per kind (Plane's where Plane has one). */
export const API_ERROR_STATUS: Readonly<Record<ApiErrorKind, number>> = Object.freeze({
  KeyUnheldNoSpawnConfig: 409,
  KeyHeld: 409,
  KeyHeldUnhealthy: 500,
  NoDroneAvailable: 500,
  NoClusterProvided: 400,
  NotFound: 404,
  InvalidClusterName: 400,
  FailedToAcquireKey: 500,
  FailedToRemoveKey: 409,
  InvalidRequest: 400,
  PayloadTooLarge: 413,
  TooManyBackends: 429,
  Unavailable: 503,
  Other: 500,
});

/** Default messages, Plane's wording where Plane has one. */
export const API_ERROR_MESSAGE: Readonly<Record<ApiErrorKind, string>> = Object.freeze({
  KeyUnheldNoSpawnConfig: 'Lock is unheld but no spawn config was provided.',
  KeyHeld: 'Lock is held but tag does not match.',
  KeyHeldUnhealthy: 'Lock is held but unhealthy.',
  NoDroneAvailable: 'No active drone available.',
  NoClusterProvided: 'No cluster provided, and no default cluster for this controller.',
  NotFound: 'Not found.',
  InvalidClusterName: 'Invalid cluster name.',
  FailedToAcquireKey: 'Failed to acquire lock.',
  FailedToRemoveKey: 'Failed to remove lock.',
  InvalidRequest: 'Invalid request.',
  PayloadTooLarge: 'Request body is too large.',
  TooManyBackends: 'Every eligible drone is at capacity; retry later.',
  Unavailable: 'Service unavailable.',
  Other: 'Internal error.',
});

/** The wire form of an error: `{id, kind, message}`. */
export interface ApiErrorBody {
  id: string;
  kind: ApiErrorKind;
  message: string;
}

const BRAND = Symbol.for('jetplane.ApiError');

/**
 * An error meant for the caller. `message` is safe to show; internal causes go in `cause`
 * and are only logged (with the same `id`).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly id: string;
  readonly kind: ApiErrorKind;
  readonly status: number;
  /** Seconds to wait before retrying (sent as `Retry-After`). */
  readonly retryAfter: number | undefined;

  constructor(kind: ApiErrorKind, message?: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message ?? API_ERROR_MESSAGE[kind], options?.cause === undefined ? undefined : { cause: options.cause });
    this.id = newErrorId();
    this.kind = kind;
    this.status = API_ERROR_STATUS[kind];
    this.retryAfter = options?.retryAfter;
  }

  toBody(): ApiErrorBody {
    return { id: this.id, kind: this.kind, message: this.message };
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
Object.defineProperty(ApiError.prototype, BRAND, { value: true });

export function isApiErrorKind(value: unknown): value is ApiErrorKind {
  return typeof value === 'string' && Object.hasOwn(API_ERROR_STATUS, value);
}
