#!/usr/bin/env node
// The hand-written Node baseline: node:http server, a route Map on the first path segment,
// http.request over a keep-alive Agent (maxSockets 256, lifo) with req.pipe/res.pipe, hop-by-hop
// headers stripped, x-verified-* headers replaced; WebSocket upgrades through a raw net.Socket tunnel.
//   node node-proxy.mjs --port P --route tok123=127.0.0.1:9001 [--fake-routes N]
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const port = Number(arg('port'));
const routes = new Map();
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] !== '--route') continue;
  const [tok, hostport] = process.argv[i + 1].split('=');
  const [host, p] = hostport.split(':');
  routes.set(tok, { host, port: Number(p), user: 'alice', auth: JSON.stringify({ user: 'alice', roles: ['bench'] }), secret: crypto.randomBytes(32).toString('base64url'), backend: 'bench-backend' });
}
// Route-table memory reference: N extra routes shaped like JetPlane's (43-char token, ~100 B auth).
// Token i is base64url(sha256(`${seed}-${i}`)) so the bench can address them; they route to --fake-target.
const fake = Number(arg('fake-routes', 0));
const fakeSeed = arg('fake-seed', 'fake');
const [fakeHost, fakePort] = arg('fake-target', '127.0.0.1:1').split(':');
for (let i = 0; i < fake; i++) {
  routes.set(crypto.createHash('sha256').update(`${fakeSeed}-${i}`).digest('base64url'), {
    host: fakeHost,
    port: Number(fakePort),
    user: `user-${i}`,
    auth: JSON.stringify({ user: `user-${i}`, org: 'bench', roles: ['a', 'b'], n: i, pad: 'x'.repeat(40) }),
    secret: crypto.randomBytes(32).toString('base64url'),
    backend: `b${i}`,
  });
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo', keepAliveMsecs: 30_000 });

function route(url) {
  const end = url.indexOf('/', 1);
  const tok = end === -1 ? url.slice(1) : url.slice(1, end);
  const r = routes.get(tok);
  return r ? { r, rest: end === -1 ? '/' : url.slice(end), prefix: `/${tok}/` } : null;
}

function outHeaders(req, r, prefix, upgrade) {
  const h = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP.has(k) || k.startsWith('x-verified-')) continue;
    h[k] = h[k] === undefined ? raw[i + 1] : `${h[k]}, ${raw[i + 1]}`;
  }
  if (upgrade) {
    h.connection = 'upgrade';
    h.upgrade = req.headers.upgrade;
  }
  h['x-verified-username'] = r.user;
  h['x-verified-user-data'] = r.auth;
  h['x-verified-secret'] = r.secret;
  h['x-verified-backend'] = r.backend;
  h['x-verified-path'] = prefix;
  const xff = req.headers['x-forwarded-for'];
  h['x-forwarded-for'] = xff ? `${xff}, ${req.socket.remoteAddress}` : req.socket.remoteAddress;
  h['x-forwarded-proto'] = 'http';
  return h;
}

const server = http.createServer((req, res) => {
  const m = route(req.url);
  if (!m) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('unknown token\n');
    return;
  }
  const up = http.request(
    { host: m.r.host, port: m.r.port, method: req.method, path: m.rest, headers: outHeaders(req, m.r, m.prefix, false), agent },
    (ures) => {
      const h = {};
      const raw = ures.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i].toLowerCase();
        if (HOP.has(k)) continue;
        h[k] = raw[i + 1];
      }
      res.writeHead(ures.statusCode, h);
      ures.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway\n');
    } else res.destroy();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 310_000;
server.requestTimeout = 0;

server.on('upgrade', (req, sock, head) => {
  const m = route(req.url);
  if (!m) {
    sock.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  const up = net.connect({ host: m.r.host, port: m.r.port }, () => {
    const h = outHeaders(req, m.r, m.prefix, true);
    let head0 = `${req.method} ${m.rest} HTTP/1.1\r\n`;
    for (const k in h) head0 += `${k}: ${h[k]}\r\n`;
    up.write(`${head0}\r\n`);
    if (head?.length) up.write(head);
    up.pipe(sock);
    sock.pipe(up);
  });
  up.setNoDelay(true);
  sock.setNoDelay(true);
  const kill = () => {
    up.destroy();
    sock.destroy();
  };
  up.on('error', kill);
  sock.on('error', kill);
  up.on('close', kill);
  sock.on('close', kill);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'ready', url: `http://127.0.0.1:${port}`, routes: routes.size })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
