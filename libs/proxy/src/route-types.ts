/** Shapes of the route table's entries and the pure helpers that build them (no state here). */
import type { BackendRecord, BackendStatus, TokenRecord } from '@jetplane/protocol';
import type { Pool } from 'undici';
import type { RouteUnavailable } from './route-errors.js';
import type { StoredRoute } from './route-store.js';

/** Something open on behalf of a token (an in-flight response, an upgraded socket pair). */
export interface OpenConnection {
  destroy(): void;
}

export interface Route {
  readonly hash: string;
  readonly backendId: string;
  /** `x-verified-username`, header-safe; null = header not sent. */
  readonly user: string | null;
  /** `x-verified-user-data`: JSON of `auth`, computed once, ASCII only; `null` for static tokens. */
  readonly userDataHeader: string;
  /** `x-verified-secret`; '' for static tokens. */
  readonly secret: string;
  readonly static: boolean;
  /** Cached link to the backend entry (entries are mutated in place, so the link stays valid). */
  backend: BackendEntry | null;
  /** In-flight responses and tunnels, destroyed when the token is revoked; null until first used. */
  open: Set<OpenConnection> | null;
  revoked: boolean;
}

export interface Waiter {
  resolve(): void;
  reject(err: RouteUnavailable): void;
  timer: NodeJS.Timeout;
}

/**
 * Plane's rule for backends with a subdomain: the Host must be exactly `<sub>.<cluster>` (an explicit
 * `:443` ignored). Backends without one answer on any Host.
 */
export function hostAllowed(backend: BackendEntry, host: string | undefined): boolean {
  if (backend.subdomainHost === '') return true;
  if (host === undefined) return false;
  const h = host.toLowerCase();
  return h === backend.subdomainHost || (h.endsWith(':443') && h.slice(0, -4) === backend.subdomainHost);
}

export interface BackendEntry {
  readonly id: string;
  status: BackendStatus;
  /** Last known address; kept through `terminating` (a soft-terminated backend still serves). '' = unknown. */
  host: string;
  port: number;
  origin: string;
  revision: number;
  /** Requests since the last {@link RouteTable.drainActivity}: the idle detector's input. */
  requests: number;
  /** Upgraded connections open right now. */
  openConnections: number;
  /** Plain HTTP requests being forwarded right now (a long poll keeps the backend busy, too). */
  inFlight: number;
  /** The drone running it (where activity reports go); '' until the record is known. */
  drone: string;
  /** For a backend with a subdomain: the only Host it answers (`<sub>.<cluster>`, lowercase); else ''. */
  subdomainHost: string;
  /** It was in the previous activity report: the next one includes it even if quiet (count drops to 0). */
  reported: boolean;
  /** Owned by the pool registry; released through `onBackendGone`. */
  pool: Pool | null;
  /** Removed from the table: a stale link must be looked up again. */
  removed: boolean;
  /** When it was seen terminated (epoch ms), 0 otherwise. */
  endedAt: number;
  waiters: Waiter[] | null;
}

export interface RouteFetcher {
  getToken(hash: string): Promise<TokenRecord | null>;
  getBackend(id: string): Promise<{ value: BackendRecord; revision: number } | null>;
}

const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** JSON with every non-ASCII char escaped: a valid header value whatever the auth object holds. */
export function asciiJson(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null';
  return json.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** A user name that cannot be sent as a header as is (control or non-latin1 chars) is percent-encoded. */
export function headerSafe(value: string): string {
  return HEADER_SAFE.test(value) ? value : encodeURIComponent(value);
}

/** Whether requests can be sent to the backend now. */
export function isRoutable(b: BackendEntry): boolean {
  return b.origin !== '' && (b.status === 'ready' || b.status === 'terminating');
}

/** A token's header values, computed once per token put (never per request). */
export function storedRoute(record: TokenRecord): StoredRoute {
  return {
    backendId: record.backend_id,
    user: record.user === null || record.user === undefined ? null : headerSafe(record.user),
    userDataHeader: record.static ? 'null' : asciiJson(record.auth ?? {}),
    secret: record.static ? '' : headerSafe(record.secret_token),
    static: record.static,
  };
}

/** The object requests use, made when a token is first used (see RouteTable.route). */
export function newRoute(hash: string, stored: StoredRoute, open: Set<OpenConnection> | null): Route {
  return {
    hash,
    backendId: stored.backendId,
    user: stored.user,
    userDataHeader: stored.userDataHeader,
    secret: stored.secret,
    static: stored.static,
    backend: null,
    open,
    revoked: false,
  };
}

/** `host:port` (IPv6 in brackets or not) → host, port and an origin URL; null when unusable. */
export function parseAddress(address: string): { host: string; port: number; origin: string } | null {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return null;
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const origin = host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  return { host, port, origin };
}

export function newEntry(id: string): BackendEntry {
  return {
    id,
    status: 'scheduled',
    host: '',
    port: 0,
    origin: '',
    revision: 0,
    requests: 0,
    openConnections: 0,
    inFlight: 0,
    drone: '',
    subdomainHost: '',
    reported: false,
    pool: null,
    removed: false,
    endedAt: 0,
    waiters: null,
  };
}
