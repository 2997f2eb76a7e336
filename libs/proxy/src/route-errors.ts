/**
 * Why a request cannot be routed, as the HTTP status the client gets. Only used off the hot path
 * (misses and waits); a hit never allocates one.
 */
export type UnavailableStatus = 404 | 410 | 502 | 503;

export class RouteUnavailable extends Error {
  constructor(readonly status: UnavailableStatus) {
    super(`route unavailable (${status})`);
    this.name = 'RouteUnavailable';
  }
}

/** Short plain-text bodies: never a backend detail, never the token. */
export const ERROR_BODIES: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad request.\n',
  401: 'Invalid subdomain.\n',
  404: 'Unknown or revoked connection token.\n',
  410: 'The backend is no longer available.\n',
  502: 'The backend could not be reached.\n',
  503: 'The backend is not ready yet. Try again later.\n',
});
