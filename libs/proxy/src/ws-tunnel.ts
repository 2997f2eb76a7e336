/**
 * Upgrade (WebSocket) tunnelling. The handshake goes to the backend on a fresh connection with the
 * same routing and header rules as HTTP; after its `101` both sockets are piped as raw bytes, with no
 * total timeout. The handshake uses node:http rather than hand-written bytes on net.connect so that a
 * backend refusing the upgrade (401, 404, a plain 200 ...) is relayed as a proper response and the
 * connection then closed: a raw pipe left open after a non-101 answer would let later requests on that
 * connection reach the backend without the header policy (spoofed `x-verified-*`).
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './context.js';
import type { BackendEntry, OpenConnection, Route } from './route-table.js';
import { hostAllowed } from './route-types.js';
import { buildUpstreamHeaders, connectionHasUpgrade, filterResponseHeaders } from './header-policy.js';
import { resolveRoute, type Resolution } from './resolve.js';
import { tokenEnd, upstreamPath } from './token-path.js';
import { rawReply } from './replies.js';

/** The backend must answer the handshake within this; upgraded sockets then have no timeout. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

function noop(): void {}

/**
 * The upgraded byte relay. Instead of two `pipe()`s (about a dozen closures and their state per tunnel),
 * each socket carries its peer under a symbol and shares three module-level listeners: one less hop per
 * chunk and less memory per idle tunnel. Same semantics as `pipe()`: backpressure pauses the reading
 * side until the peer drains; a half-close (FIN) is passed on; errors and closes are handled by Tunnel.
 */
const kPeer = Symbol('jetplane.peer');
type Relayed = Duplex & { [kPeer]: Duplex };

function relayData(this: Relayed, chunk: Buffer): void {
  if (!this[kPeer].write(chunk)) this.pause();
}

function relayDrain(this: Relayed): void {
  this[kPeer].resume();
}

function relayEnd(this: Relayed): void {
  this[kPeer].end();
}

function relay(from: Duplex, to: Duplex): void {
  (from as Relayed)[kPeer] = to;
  (to as Relayed)[kPeer] = from;
  for (const s of [from, to]) {
    s.on('data', relayData);
    s.on('drain', relayDrain);
    s.on('end', relayEnd);
    s.resume();
  }
}

function headBlock(statusCode: number, statusMessage: string, headers: readonly string[], extra: string): string {
  let head = `HTTP/1.1 ${statusCode} ${statusMessage}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + extra + '\r\n';
}

class Tunnel implements OpenConnection {
  private upstreamReq: ClientRequest | null = null;
  private upstream: Duplex | null = null;
  private opened = false;
  /** A refusal is being relayed: a later failure can only cut the connection, not answer again. */
  private relaying = false;
  private closed = false;

  constructor(
    private readonly client: Duplex,
    private readonly route: Route,
    private readonly backend: BackendEntry,
    private readonly ctx: ProxyContext,
  ) {
    ctx.table.track(route, this);
    ctx.tunnels.add(this);
    client.on('close', () => this.destroy());
  }

  start(method: string, path: string, headers: string[], clientHead: Buffer): void {
    let req: ClientRequest;
    try {
      req = request({ host: this.backend.host, port: this.backend.port, method, path, headers, setHost: false, agent: false });
    } catch {
      this.fail(); // a header value Node refuses
      return;
    }
    this.upstreamReq = req;
    req.setTimeout(HANDSHAKE_TIMEOUT_MS, () => req.destroy(new Error('handshake timeout')));
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(res, socket, head, clientHead));
    req.on('response', (res: IncomingMessage) => this.onRefused(res));
    req.on('error', () => this.fail());
    req.end();
  }

  /** Revocation, shutdown, or either side closing: tear down both sockets once. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstreamReq?.destroy();
    this.upstream?.destroy();
    this.client.destroy();
    this.release();
  }

  private onUpgrade(res: IncomingMessage, upstream: Duplex, upstreamHead: Buffer, clientHead: Buffer): void {
    this.upstreamReq = null;
    if (this.closed) {
      upstream.destroy();
      return;
    }
    upstream.on('error', noop);
    upstream.on('close', () => this.destroy());
    this.upstream = upstream;
    this.opened = true;
    this.backend.openConnections++;
    this.ctx.stats.openTunnels++;
    this.ctx.stats.count(101);
    const sock = upstream as Duplex & { setTimeout?(ms: number): void; setNoDelay?(on: boolean): void };
    sock.setTimeout?.(0); // the handshake timeout must not outlive the handshake
    sock.setNoDelay?.(true);
    // The 101 head is relayed as the backend wrote it (Connection/Upgrade/Sec-WebSocket-* included).
    this.client.write(headBlock(res.statusCode ?? 101, res.statusMessage ?? 'Switching Protocols', res.rawHeaders, ''));
    if (upstreamHead.length > 0) this.client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    relay(upstream, this.client);
  }

  /** The backend answered without switching protocols: relay that answer, then close. */
  private onRefused(res: IncomingMessage): void {
    this.upstreamReq = null;
    if (this.closed) {
      res.destroy();
      return;
    }
    this.relaying = true;
    const status = res.statusCode ?? 502;
    this.ctx.stats.count(status);
    const headers: string[] = [];
    filterResponseHeaders(res.rawHeaders, headers);
    // The body arrives decoded: without a content-length it is delimited by closing the connection.
    this.client.write(headBlock(status, res.statusMessage ?? '', headers, 'connection: close\r\n'));
    res.on('error', () => this.destroy());
    res.on('end', () => this.client.end(() => this.destroy()));
    res.pipe(this.client, { end: false });
  }

  private fail(): void {
    if (this.closed) return;
    if (this.opened || this.relaying) {
      this.destroy();
      return;
    }
    this.closed = true;
    this.ctx.stats.count(502);
    rawReply(this.client, 502);
    this.release();
  }

  private release(): void {
    this.ctx.table.untrack(this.route, this);
    this.ctx.tunnels.delete(this);
    if (this.opened) {
      this.opened = false;
      this.backend.openConnections--;
      this.ctx.stats.openTunnels--;
    }
  }
}

function tunnel(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer, route: Route, token: string, url: string, end: number): void {
  const backend = route.backend!;
  if (!hostAllowed(backend, req.headers.host)) return refuse(ctx, socket, 401);
  backend.requests++;
  const headers: string[] = [];
  buildUpstreamHeaders(req.rawHeaders, route, token, req.socket.remoteAddress, true, headers);
  new Tunnel(socket, route, backend, ctx).start(req.method ?? 'GET', upstreamPath(url, end, route.static), headers, head);
}

function refuse(ctx: ProxyContext, socket: Duplex, status: number): void {
  ctx.stats.count(status);
  rawReply(socket, status);
}

/** The node:http 'upgrade' listener. */
export function createUpgradeHandler(ctx: ProxyContext): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const settled = (req: IncomingMessage, socket: Duplex, head: Buffer, r: Resolution, token: string, url: string, end: number): void => {
    if (socket.destroyed) return;
    if (typeof r === 'number') refuse(ctx, socket, r);
    else tunnel(ctx, req, socket, head, r, token, url, end);
  };
  return function onUpgrade(req, socket, head) {
    // Node's server no longer handles errors on a socket it handed over; an unhandled one would crash.
    socket.on('error', noop);
    if (!connectionHasUpgrade(req.headers.connection)) return refuse(ctx, socket, 400);
    const url = req.url ?? '/';
    const end = tokenEnd(url);
    if (end === -1) return refuse(ctx, socket, 404);
    const token = url.slice(1, end);
    const r = resolveRoute(ctx.table, token, ctx.waitForReadyMs, req.socket);
    if (typeof r === 'number') return refuse(ctx, socket, r);
    if (r instanceof Promise) {
      r.then(
        (x) => settled(req, socket, head, x, token, url, end),
        () => settled(req, socket, head, 503, token, url, end),
      );
      return;
    }
    tunnel(ctx, req, socket, head, r, token, url, end);
  };
}
