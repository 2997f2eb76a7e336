#!/usr/bin/env node
// The bench backend: node:http on 127.0.0.1:$PORT (or --port), with a `ws` echo on the same server.
//   GET  .../small    -> exactly 100 bytes
//   GET  .../big      -> exactly 65,536 bytes
//   GET  .../whoami   -> JSON of the request line and headers it received (header-rewrite check)
//   GET  .../startup  -> {time_origin, listening_at, own_start_ms}: its own start time
//   HEAD /            -> 200 (readiness probes)
//   WS   any path     -> echoes every message; `.../ws-whoami` first sends the upgrade headers as JSON
// Paths are matched on their last segment, so a proxy may or may not strip the `/<token>` prefix.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';

const argPort = process.argv.indexOf('--port');
const port = Number(argPort > 0 ? process.argv[argPort + 1] : process.env.PORT);
if (!port) {
  console.error('backend: PORT (env) or --port required');
  process.exit(2);
}

const SMALL = Buffer.alloc(100, 'a');
const BIG = Buffer.alloc(65536, 'b');
const timeOrigin = performance.timeOrigin;
let listeningAt = 0;

function lastSegment(url) {
  const q = url.indexOf('?');
  const p = q === -1 ? url : url.slice(0, q);
  return p.slice(p.lastIndexOf('/') + 1);
}

const server = http.createServer((req, res) => {
  const seg = lastSegment(req.url);
  if (seg === 'small') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 100 });
    res.end(SMALL);
  } else if (seg === 'big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 65536 });
    res.end(BIG);
  } else if (seg === 'whoami') {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (seg === 'startup') {
    const body = JSON.stringify({ time_origin: timeOrigin, listening_at: listeningAt, own_start_ms: listeningAt - timeOrigin, pid: process.pid });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (seg === 'stats') {
    const body = JSON.stringify({ ws: wss.clients.size, rss: process.memoryUsage().rss });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  }
});
// Proxies keep pooled upstream connections idle between rounds: do not close them under their feet.
server.keepAliveTimeout = 300_000;
server.headersTimeout = 310_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: true, maxPayload: 1 << 20 });
wss.on('connection', (ws, req) => {
  if (lastSegment(req.url) === 'ws-whoami') ws.send(JSON.stringify({ url: req.url, headers: req.headers }));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => {
  listeningAt = performance.timeOrigin + performance.now();
  process.stdout.write(`${JSON.stringify({ msg: 'ready', url: `http://127.0.0.1:${port}`, own_start_ms: listeningAt - timeOrigin })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
