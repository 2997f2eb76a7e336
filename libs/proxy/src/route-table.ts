/**
 * The proxy's view of `jetplane_tokens` (`r.<hash>`) and `jetplane_backends`, filled by KV watches, read
 * KV directly on a miss. Every token lives compactly in a RouteStore; the Route objects requests use are
 * made on first use and kept while used, so a hit on a token in use costs one Map lookup.
 */
import type { BackendActivity, BackendRecord, TokenRecord } from '@jetplane/protocol';
import { RouteUnavailable } from './route-errors.js';
import { RouteStore } from './route-store.js';
import { isRoutable, newEntry, newRoute, parseAddress, storedRoute, type BackendEntry, type OpenConnection, type Route, type RouteFetcher, type Waiter } from './route-types.js';

export type { BackendEntry, OpenConnection, Route, RouteFetcher } from './route-types.js';
export { asciiJson, isRoutable } from './route-types.js';

export interface RouteTableOptions {
  cluster: string;
  fetcher: RouteFetcher;
  /** A backend ended, was deleted or moved: release what was opened for it (its pool). */
  onBackendGone?: (entry: BackendEntry) => void;
  /** After KV says "no such token", wait this long for the watch (a replica may lag the write). */
  missGraceMs?: number;
  /** How long a "no such token" answer is remembered. */
  negativeTtlMs?: number;
  maxNegative?: number;
  /** Terminated backends are forgotten this long after they ended. */
  tombstoneTtlMs?: number;
}

const REVOKED = Number.POSITIVE_INFINITY;

export class RouteTable {
  readonly cluster: string;
  private readonly store = new RouteStore();
  /**
   * Route objects of tokens in use: `hot` since the last sweep, `warm` the sweep before. A sweep drops
   * `warm` (except routes with open connections, which revocation must still reach) and demotes `hot`.
   */
  private hot = new Map<string, Route>();
  private warm = new Map<string, Route>();
  private readonly backends = new Map<string, BackendEntry>();
  /** hash → until when "unknown" holds (REVOKED = for good: tokens are never re-issued). */
  private readonly negative = new Map<string, number>();
  private readonly tokenFetches = new Map<string, Promise<Route | null>>();
  private readonly backendFetches = new Map<string, Promise<BackendEntry | null>>();
  private readonly arrivals = new Map<string, Array<(route: Route) => void>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly missGraceMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxNegative: number;
  private readonly tombstoneTtlMs: number;

  constructor(private readonly opts: RouteTableOptions) {
    this.cluster = opts.cluster;
    this.missGraceMs = opts.missGraceMs ?? 250;
    this.negativeTtlMs = opts.negativeTtlMs ?? 5_000;
    this.maxNegative = opts.maxNegative ?? 10_000;
    this.tombstoneTtlMs = opts.tombstoneTtlMs ?? 5 * 60_000;
    this.sweeper = setInterval(() => this.sweep(Date.now()), 60_000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.store.size;
  }

  /** The hot path: a Map lookup for a token in use. */
  route(hash: string): Route | undefined {
    return this.hot.get(hash) ?? this.materialize(hash);
  }

  /** The route's backend entry, relinked when the cached one left the table. */
  backendOf(route: Route): BackendEntry | null {
    const linked = route.backend;
    if (linked !== null && !linked.removed) return linked;
    return (route.backend = this.backends.get(route.backendId) ?? null);
  }

  backend(id: string): BackendEntry | undefined {
    return this.backends.get(id);
  }

  putToken(hash: string, record: TokenRecord): void {
    if (record.cluster !== this.cluster) {
      // Another cluster's token is unknown here (Q16); a moved token stops working here.
      if (this.store.has(hash)) this.deleteToken(hash);
      return;
    }
    this.negative.delete(hash);
    const stored = storedRoute(record);
    this.store.set(hash, stored);
    const cached = this.cached(hash);
    if (cached !== undefined) {
      this.warm.delete(hash);
      this.hot.set(hash, newRoute(hash, stored, cached.open));
    }
    const waiting = this.arrivals.get(hash);
    if (waiting) {
      this.arrivals.delete(hash);
      const route = this.route(hash)!;
      for (const wake of waiting) wake(route);
    }
  }

  /** Revocation: drop the route and close everything still open for it. */
  deleteToken(hash: string): void {
    this.rememberUnknown(hash, REVOKED);
    this.store.delete(hash);
    const route = this.cached(hash);
    if (!route) return;
    this.hot.delete(hash);
    this.warm.delete(hash);
    route.revoked = true;
    const open = route.open;
    route.open = null;
    if (open) for (const conn of [...open]) conn.destroy();
  }

  putBackend(record: BackendRecord, revision: number): void {
    if (record.cluster !== this.cluster) return;
    let entry = this.backends.get(record.id);
    if (entry && revision <= entry.revision) return; // a miss read older than what the watch delivered
    if (!entry) {
      entry = newEntry(record.id);
      this.backends.set(record.id, entry);
    }
    entry.revision = revision;
    if (typeof record.drone === 'string') entry.drone = record.drone;
    entry.subdomainHost = record.subdomain ? `${record.subdomain}.${this.cluster}`.toLowerCase() : '';
    const state = record.state;
    if (state.address) this.setAddress(entry, state.address);
    entry.status = state.status;
    if (state.status === 'terminated') this.end(entry);
    else if (isRoutable(entry)) this.settle(entry, null);
  }

  /** The record is gone: keep a terminated tombstone (410 without a KV read) until the sweep. */
  deleteBackend(id: string): void {
    const entry = this.backends.get(id);
    if (!entry) return;
    entry.status = 'terminated';
    this.end(entry);
  }

  /** Miss path: read `r.<hash>` from KV; concurrent misses for one hash share the read. */
  fetchRoute(hash: string): Promise<Route | null> {
    const until = this.negative.get(hash);
    if (until !== undefined) {
      if (until > Date.now()) return Promise.resolve(null);
      this.negative.delete(hash);
    }
    let pending = this.tokenFetches.get(hash);
    if (!pending) {
      pending = this.readRoute(hash).finally(() => this.tokenFetches.delete(hash));
      this.tokenFetches.set(hash, pending);
    }
    return pending;
  }

  /** Read a backend the watch has not delivered yet; concurrent reads for one id share the read. */
  fetchBackend(id: string): Promise<BackendEntry | null> {
    let pending = this.backendFetches.get(id);
    if (!pending) {
      pending = this.opts.fetcher
        .getBackend(id)
        .then((found) => {
          if (found) this.putBackend(found.value, found.revision);
          return this.backends.get(id) ?? null;
        })
        .finally(() => this.backendFetches.delete(id));
      this.backendFetches.set(id, pending);
    }
    return pending;
  }

  /** Resolves once the backend can take requests; rejects 410 if it ends, 503 after `timeoutMs`. */
  waitForReady(entry: BackendEntry, timeoutMs: number): Promise<void> {
    if (isRoutable(entry)) return Promise.resolve();
    if (entry.status === 'terminated' || entry.status === 'terminating') {
      return Promise.reject(new RouteUnavailable(410));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const list = entry.waiters;
          const i = list ? list.indexOf(waiter) : -1;
          if (i !== -1) list!.splice(i, 1);
          reject(new RouteUnavailable(503));
        }, timeoutMs),
      };
      (entry.waiters ??= []).push(waiter);
    });
  }

  track(route: Route, conn: OpenConnection): void {
    (route.open ??= new Set()).add(conn);
  }

  untrack(route: Route, conn: OpenConnection): void {
    route.open?.delete(conn);
  }

  /** Ids of backends used since the last call (requests or open tunnels); resets the request counters. */
  drainActivity(): string[] {
    const active: string[] = [];
    for (const entry of this.backends.values()) {
      if (entry.requests > 0 || entry.openConnections > 0) active.push(entry.id);
      entry.requests = 0;
    }
    return active;
  }

  /**
   * The idle detector's input, per drone: every backend used since the last call (requests started, or
   * connections open now: HTTP in flight + upgraded), plus, once, those reported last time that are
   * quiet now, so their drone sees the open count drop to 0. Resets the request counters.
   */
  collectActivity(): Map<string, BackendActivity[]> {
    const byDrone = new Map<string, BackendActivity[]>();
    for (const entry of this.backends.values()) {
      const connections = entry.openConnections + entry.inFlight;
      const active = entry.requests > 0 || connections > 0;
      if ((active || entry.reported) && entry.drone !== '') {
        let list = byDrone.get(entry.drone);
        if (!list) byDrone.set(entry.drone, (list = []));
        list.push({ backend_id: entry.id, connections, requests: entry.requests });
      }
      entry.reported = active;
      entry.requests = 0;
    }
    return byDrone;
  }

  /** Forget old terminated backends, expired "unknown" answers and Route objects no longer used. */
  sweep(now: number): void {
    for (const [hash, route] of this.warm) if (route.open !== null && route.open.size > 0) this.hot.set(hash, route);
    this.warm = this.hot;
    this.hot = new Map();
    for (const [id, entry] of this.backends) {
      if (entry.endedAt !== 0 && now - entry.endedAt > this.tombstoneTtlMs) {
        this.backends.delete(id);
        entry.removed = true;
      }
    }
    for (const [hash, until] of this.negative) if (until <= now) this.negative.delete(hash);
  }

  /** Stop timers and fail every waiting request (shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    for (const entry of this.backends.values()) this.settle(entry, new RouteUnavailable(503));
  }

  private async readRoute(hash: string): Promise<Route | null> {
    const record = await this.opts.fetcher.getToken(hash);
    // The watch is ordered and may have delivered the put or the delete while we read: it wins.
    const current = this.route(hash);
    if (current) return current;
    if (this.negative.get(hash) === REVOKED) return null;
    if (record) {
      this.putToken(hash, record);
      return this.route(hash) ?? this.unknown(hash);
    }
    // KV has no such token. A replica answering the read may lag the write the client's connect saw
    // acknowledged, so give the watch a moment, then ask KV once more (likely another replica, or the
    // same one caught up), before calling the token unknown.
    const arrived = await this.awaitArrival(hash);
    if (arrived) return arrived;
    if (this.missGraceMs > 0) {
      const again = await this.opts.fetcher.getToken(hash).catch(() => null);
      const current = this.route(hash);
      if (current) return current;
      if (again && this.negative.get(hash) !== REVOKED) {
        this.putToken(hash, again);
        const route = this.route(hash);
        if (route) return route;
      }
    }
    return this.unknown(hash);
  }

  private awaitArrival(hash: string): Promise<Route | null> {
    if (this.missGraceMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const wake = (route: Route | null): void => {
        clearTimeout(timer);
        resolve(route);
      };
      const timer = setTimeout(() => {
        const list = this.arrivals.get(hash);
        const i = list ? list.indexOf(wake) : -1;
        if (i !== -1) list!.splice(i, 1);
        if (list && list.length === 0) this.arrivals.delete(hash);
        resolve(null);
      }, this.missGraceMs);
      let list = this.arrivals.get(hash);
      if (!list) this.arrivals.set(hash, (list = []));
      list.push(wake);
    });
  }

  /** A token's Route object, made from the store on first use (or again after a sweep dropped it). */
  private materialize(hash: string): Route | undefined {
    let route = this.warm.get(hash);
    if (route === undefined) {
      const stored = this.store.get(hash);
      if (stored === undefined) return undefined;
      route = newRoute(hash, stored, null);
    } else {
      this.warm.delete(hash);
    }
    this.hot.set(hash, route);
    return route;
  }

  private cached(hash: string): Route | undefined {
    return this.hot.get(hash) ?? this.warm.get(hash);
  }

  private unknown(hash: string): null {
    this.rememberUnknown(hash, Date.now() + this.negativeTtlMs);
    return null;
  }

  private rememberUnknown(hash: string, until: number): void {
    // Bounded: a flood of garbage tokens must not grow memory; clearing only costs extra KV reads.
    if (this.negative.size >= this.maxNegative) this.negative.clear();
    this.negative.set(hash, until);
  }

  private setAddress(entry: BackendEntry, address: string): void {
    const parsed = parseAddress(address);
    if (parsed === null || parsed.origin === entry.origin) return;
    if (entry.origin !== '') this.opts.onBackendGone?.(entry); // moved: the old pool points elsewhere
    entry.host = parsed.host;
    entry.port = parsed.port;
    entry.origin = parsed.origin;
  }

  private end(entry: BackendEntry): void {
    if (entry.endedAt === 0) entry.endedAt = Date.now();
    this.settle(entry, new RouteUnavailable(410));
    this.opts.onBackendGone?.(entry);
  }

  private settle(entry: BackendEntry, err: RouteUnavailable | null): void {
    const waiters = entry.waiters;
    if (!waiters) return;
    entry.waiters = null;
    for (const w of waiters) {
      clearTimeout(w.timer);
      if (err) w.reject(err);
      else w.resolve();
    }
  }
}
