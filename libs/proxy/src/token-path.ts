/**
 * `/<token>/<rest>?q` splitting, by index arithmetic on `req.url` (no URL object, no regex): the
 * token is the first path segment; `/<token>` alone forwards `/`; the query string is kept.
 */

/** Index where the token ends in `url` (exclusive), or -1 when there is no token segment. */
export function tokenEnd(url: string): number {
  if (url.charCodeAt(0) !== 47 /* / */) return -1; // absolute-form or garbage: no token
  const len = url.length;
  let i = 1;
  for (; i < len; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) break;
  }
  return i === 1 ? -1 : i;
}

/** The token of a url whose token ends at `end` (from {@link tokenEnd}). */
export function tokenOf(url: string, end: number): string {
  return url.slice(1, end);
}

/** Path sent to the backend for a dynamic token: the token segment removed, the query kept. */
export function strippedPath(url: string, end: number): string {
  if (end === url.length) return '/';
  // `/<token>?q` → `/?q`; `/<token>/rest?q` → `/rest?q`
  return url.charCodeAt(end) === 63 ? '/' + url.slice(end) : url.slice(end);
}

/** Path sent to the backend: static tokens (`s.…`) forward the path unchanged, as Plane does. */
export function upstreamPath(url: string, end: number, isStatic: boolean): string {
  return isStatic ? url : strippedPath(url, end);
}
