/**
 * Plain HTTP forwarding: `/<token>/<rest>` → the backend's undici Pool, request and response bodies
 * streamed (never buffered). A hit costs a hash, two Map lookups, one header array and one handler
 * object; undici's legacy handler interface is used because it is the shape undici runs internally
 * (the newer one is wrapped and re-parses the response headers into an object).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ProxyContext } from './context.js';
import type { BackendEntry, OpenConnection, Route } from './route-table.js';
import { hostAllowed } from './route-types.js';
import { buildUpstreamHeaders, filterResponseHeaders, HAS_BODY } from './header-policy.js';
import { resolveRoute, type Resolution } from './resolve.js';
import { tokenEnd, upstreamPath } from './token-path.js';
import { reply } from './replies.js';

const kHandler = Symbol('jetplane.forward');
type TrackedResponse = ServerResponse & { [kHandler]?: ForwardHandler };

// Reasons handed to undici when we abort; allocated once, they never reach a client.
const CLIENT_GONE = new Error('client closed the connection');
const REVOKED = new Error('connection token revoked');
const BAD_RESPONSE = new Error('response head could not be relayed');

/** One proxied request; also the entry tracked on the route so a revocation can cut it. */
class ForwardHandler implements Dispatcher.DispatchHandler, OpenConnection {
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly route: Route,
    private readonly ctx: ProxyContext,
    /** Counts this request as in flight until it is over (activity reports). */
    private readonly backend: BackendEntry,
  ) {
    backend.inFlight++;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.done) abort(CLIENT_GONE); // the client left before undici got to this request
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational (e.g. 103): not relayed
    const headers: string[] = [];
    filterResponseHeaders(rawHeaders, headers);
    this.ctx.stats.count(statusCode);
    const res = this.res;
    try {
      if (statusText) res.writeHead(statusCode, statusText, headers);
      else res.writeHead(statusCode, headers);
    } catch {
      // A header Node refuses to write: nothing was sent yet, so the client gets a 502.
      this.abortUpstream?.(BAD_RESPONSE);
      return false;
    }
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // Backpressure from the client: undici pauses the upstream socket until the response drains.
    this.res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.finish();
    this.res.end();
  }

  onError(err: Error): void {
    if (this.finish() && err !== CLIENT_GONE && err !== REVOKED) {
      this.ctx.log.debug({ backend: this.route.backendId, fp: this.route.hash.slice(0, 8), err: err.message }, 'upstream error');
    }
    if (this.res.headersSent || err === CLIENT_GONE || err === REVOKED) {
      this.res.destroy();
      return;
    }
    this.ctx.stats.count(502);
    reply(this.res, 502);
  }

  /** The token was revoked: cut the request on both sides. */
  destroy(): void {
    if (!this.finish()) return;
    this.abortUpstream?.(REVOKED);
    this.res.destroy();
  }

  clientClosed(): void {
    if (this.done) return;
    if (this.abortUpstream !== null) this.abortUpstream(CLIENT_GONE);
    else this.finish(); // not connected yet: onConnect aborts it
  }

  /** Marks the request over; false when it already was. */
  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.backend.inFlight--;
    this.ctx.table.untrack(this.route, this);
    return true;
  }
}

/** 'close' listener shared by every response (no closure per request): `this` is the response. */
function onResponseClose(this: TrackedResponse): void {
  this[kHandler]?.clientClosed();
}

function forward(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, route: Route, token: string, url: string, end: number): void {
  const backend = route.backend!;
  // `req.headers` is built lazily from rawHeaders: only backends with a subdomain pay for it.
  if (backend.subdomainHost !== '' && !hostAllowed(backend, req.headers.host)) return answer(ctx, res, 401);
  backend.requests++;
  const headers: string[] = [];
  const flags = buildUpstreamHeaders(req.rawHeaders, route, token, req.socket.remoteAddress, false, headers);
  const handler = new ForwardHandler(res, route, ctx, backend);
  ctx.table.track(route, handler);
  (res as TrackedResponse)[kHandler] = handler;
  res.on('close', onResponseClose);
  ctx.pools.get(backend).dispatch(
    {
      path: upstreamPath(url, end, route.static),
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: (flags & HAS_BODY) !== 0 ? req : null,
    },
    handler,
  );
}

function answer(ctx: ProxyContext, res: ServerResponse, status: number): void {
  ctx.stats.count(status);
  reply(res, status);
}

/** The node:http 'request' listener. */
export function createRequestHandler(ctx: ProxyContext): (req: IncomingMessage, res: ServerResponse) => void {
  const settled = (req: IncomingMessage, res: ServerResponse, r: Resolution, token: string, url: string, end: number): void => {
    if (req.socket.destroyed) return; // the client gave up while we waited
    if (typeof r === 'number') answer(ctx, res, r);
    else forward(ctx, req, res, r, token, url, end);
  };
  return function onRequest(req, res) {
    const url = req.url ?? '/';
    const end = tokenEnd(url);
    if (end === -1) return answer(ctx, res, 404);
    const token = url.slice(1, end);
    const r = resolveRoute(ctx.table, token, ctx.waitForReadyMs, req.socket);
    if (typeof r === 'number') return answer(ctx, res, r);
    if (r instanceof Promise) {
      r.then(
        (x) => settled(req, res, x, token, url, end),
        () => settled(req, res, 503, token, url, end),
      );
      return;
    }
    forward(ctx, req, res, r, token, url, end);
  };
}
