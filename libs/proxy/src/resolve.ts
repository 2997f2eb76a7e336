/**
 * Token → route, shared by HTTP forwarding and WebSocket tunnelling. A hit on a ready backend returns
 * synchronously (no promise, no allocation); misses, waits and failures take the async path.
 */
import { isWellFormedToken } from '@jetplane/protocol';
import { hashToken } from '@jetplane/nats';
import { isRoutable, type Route, type RouteTable } from './route-table.js';
import { RouteUnavailable } from './route-errors.js';

/** A routable route (its `backend` link is set and routable), or the HTTP status to answer. */
export type Resolution = Route | number;

const kToken = Symbol('jetplane.token');
const kTokenHash = Symbol('jetplane.tokenHash');

/** Where the last token seen on a connection is remembered: the client socket. */
interface TokenMemo {
  [kToken]?: string;
  [kTokenHash]?: string;
}

/**
 * The token's hash, or null when it is malformed. A keep-alive connection mostly repeats one token,
 * so the last token and its hash are kept on the connection: the SHA-256 is computed once per
 * connection and token, and nothing outlives the connection that carried the token anyway.
 */
export function tokenHashOn(connection: object, token: string): string | null {
  const memo = connection as TokenMemo;
  if (memo[kToken] === token) return memo[kTokenHash]!;
  // Garbage never costs a KV read: only well-formed tokens can exist.
  if (!isWellFormedToken(token)) return null;
  const hash = hashToken(token);
  memo[kToken] = token;
  memo[kTokenHash] = hash;
  return hash;
}

/** `connection`: the socket the token came on (see {@link tokenHashOn}). */
export function resolveRoute(table: RouteTable, token: string, waitForReadyMs: number, connection: object = {}): Resolution | Promise<Resolution> {
  const hash = tokenHashOn(connection, token);
  if (hash === null) return 404;
  const route = table.route(hash);
  if (route !== undefined) {
    const backend = table.backendOf(route);
    if (backend !== null && backend.status === 'ready' && backend.origin !== '') return route;
    return settle(table, route, waitForReadyMs);
  }
  return miss(table, hash, waitForReadyMs);
}

async function miss(table: RouteTable, hash: string, waitForReadyMs: number): Promise<Resolution> {
  let route: Route | null;
  try {
    route = await table.fetchRoute(hash);
  } catch {
    return 503; // NATS unreachable: we cannot tell, so do not claim the token is unknown
  }
  return route === null ? 404 : settle(table, route, waitForReadyMs);
}

/** The route is known; make sure its backend is, and wait (bounded) until it can take requests. */
async function settle(table: RouteTable, route: Route, waitForReadyMs: number): Promise<Resolution> {
  let backend = table.backendOf(route);
  if (backend === null) {
    try {
      backend = await table.fetchBackend(route.backendId);
    } catch {
      return 503;
    }
    if (backend === null) return 410; // the record is gone: so is the backend
    route.backend = backend;
  }
  if (!isRoutable(backend)) {
    try {
      await table.waitForReady(backend, waitForReadyMs);
    } catch (err) {
      return err instanceof RouteUnavailable ? err.status : 503;
    }
  }
  // Revoked while we waited; the table may have let go of this Route object during a long wait, so ask
  // it again rather than trust only the object's own flag.
  return route.revoked || table.route(route.hash) === undefined ? 404 : route;
}
