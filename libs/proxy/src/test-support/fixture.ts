/**
 * Test fixture (not built): the real proxy server in front of a real local backend (node:http + ws),
 * loopback only, with the route table fed directly instead of by NATS.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { BackendRecord, BackendState, TokenRecord } from '@jetplane/protocol';
import { hashToken } from '@jetplane/nats';
import { createLogger } from '@jetplane/observability';
import { RouteTable } from '../route-table.js';
import { PoolSet } from '../pools.js';
import { ProxyStats } from '../metrics.js';
import { createProxyServer, listen } from '../server.js';
import type { ProxyContext } from '../context.js';

export const CLUSTER = 'proxy.test:9090';

export interface Fixture {
  ctx: ProxyContext;
  proxyPort: number;
  backendPort: number;
  /** Requests whose response the backend saw closed (client went away or was cut). */
  closedStreams: string[];
  addToken(token: string, over?: Partial<TokenRecord>): void;
  setBackend(id: string, state: Partial<BackendState> & Pick<BackendState, 'status'>, revision: number): void;
  close(): Promise<void>;
}

/**
 * Backend routes: `/stream…` endless event stream; `/big?n=BYTES` a body of n bytes; anything else
 * echoes method, url, raw headers and the body's length and sha256 as JSON, with some hop-by-hop
 * response headers. Upgrades: `/nows` refused with 403, anything else a ws echo whose first message
 * reports the url and headers it saw.
 */
function startBackend(closedStreams: string[]): Server {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: tick\n\n'), 10);
      res.on('close', () => {
        clearInterval(timer);
        closedStreams.push(url);
      });
      return;
    }
    if (url.startsWith('/big')) {
      const n = Number(new URL(url, 'http://x').searchParams.get('n'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = n;
      const pump = (): void => {
        while (left > 0) {
          const piece = chunk.subarray(0, Math.min(left, chunk.length));
          left -= piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url, headers: req.rawHeaders, length, sha: hash.digest('hex') });
      res.writeHead(200, ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Connection', 'keep-alive, X-Private', 'X-Private', 'secret', 'Keep-Alive', 'timeout=5']);
      res.end(body);
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/nows') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 6\r\nconnection: close\r\n\r\nnope!\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ url: req.url, headers: req.rawHeaders }));
      ws.on('message', (data) => ws.send(data));
    });
  });
  return server;
}

export async function startFixture(waitForReadyMs = 150): Promise<Fixture> {
  const closedStreams: string[] = [];
  const backend = startBackend(closedStreams);
  const backendPort = await listen(backend, 0, '127.0.0.1');
  const pools = new PoolSet({ connections: 8 });
  const table = new RouteTable({
    cluster: CLUSTER,
    fetcher: { getToken: async () => null, getBackend: async () => null },
    missGraceMs: 0,
    onBackendGone: (e) => pools.release(e),
  });
  const ctx: ProxyContext = { table, pools, stats: new ProxyStats(), waitForReadyMs, log: createLogger({ component: 'test', level: 'silent' }), tunnels: new Set() };
  const proxy = createProxyServer(ctx);
  const proxyPort = await listen(proxy, 0, '127.0.0.1');
  return {
    ctx,
    proxyPort,
    backendPort,
    closedStreams,
    addToken(token, over = {}) {
      table.putToken(hashToken(token), { backend_id: 'b1', cluster: CLUSTER, issued_at: 1, user: null, auth: {}, secret_token: 'sek', static: false, ...over });
    },
    setBackend(id, state, revision) {
      table.putBackend({ id, cluster: CLUSTER, state: { time: 1, ...state } } as BackendRecord, revision);
    },
    async close() {
      for (const t of [...ctx.tunnels]) t.destroy();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await pools.close();
      table.close();
      backend.closeAllConnections();
      await new Promise((r) => backend.close(r));
    },
  };
}

export interface Reply {
  status: number;
  rawHeaders: string[];
  body: Buffer;
}

/** One request on a fresh connection; `body` is written in 64 KiB pieces (a streamed, chunked upload). */
export function send(port: number, path: string, opts: { method?: string; headers?: string[]; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = opts.headers ?? ['Host', CLUSTER];
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body) for (let i = 0; i < opts.body.length; i += 64 * 1024) req.write(opts.body.subarray(i, i + 64 * 1024));
    req.end();
  });
}

/** Every value of header `name` (lower case) in a raw header list. */
export function header(raw: string[], name: string): string[] {
  return raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [raw[i + 1]!] : []));
}

export { hashToken };
