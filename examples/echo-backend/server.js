#!/usr/bin/env node
// A session backend for trying JetPlane and for its tests. Plain Node (ESM), no build step.
//
// - listens on 127.0.0.1:$PORT (set by the drone);
// - any path, any method: JSON {path, method, headers, body_length, env} where env holds the
//   SESSION_BACKEND_* variables, PORT and every EXAMPLE_* variable;
// - GET / with `accept: text/html`: a small page that shows the same and talks to the WebSocket;
// - WebSocket on any path: first a JSON {type: "hello", path, headers} message, then every message echoed;
// - /exit/<code>: answers, then exits with that code (for tests);
// - SIGTERM: logs "got SIGTERM", closes the server and its sockets, exits 0.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

function backendEnv() {
  const env = {};
  for (const name of [
    'SESSION_BACKEND_ID',
    'SESSION_BACKEND_KEY',
    'SESSION_BACKEND_FENCING_TOKEN',
    'SESSION_BACKEND_STATIC_TOKEN',
    'PORT',
  ]) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('EXAMPLE_')) env[name] = value;
  }
  return env;
}

function page() {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>JetPlane echo backend</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}pre{background:#f4f4f4;padding:1em;overflow:auto}</style>
</head><body>
<h1>JetPlane echo backend</h1>
<p>Backend <code id="id"></code>. The proxy told it who you are in the <code>x-verified-*</code> headers:</p>
<pre id="info">loading…</pre>
<h2>WebSocket echo</h2>
<form id="f"><input id="m" value="hello" autocomplete="off"> <button>send</button></form>
<pre id="log"></pre>
<script>
const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
fetch(base + 'info', { headers: { accept: 'application/json' } }).then(r => r.json()).then(j => {
  document.getElementById('id').textContent = j.env.SESSION_BACKEND_ID || '?';
  document.getElementById('info').textContent = JSON.stringify(j, null, 2);
});
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + base + 'ws');
const log = (t) => { document.getElementById('log').textContent += t + '\\n'; };
ws.onmessage = (e) => log('< ' + e.data);
ws.onclose = () => log('(closed)');
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); const v = document.getElementById('m').value; ws.send(v); log('> ' + v); };
</script>
</body></html>
`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://backend');
  let bodyLength = 0;
  req.on('data', (chunk) => (bodyLength += chunk.length));
  req.on('end', () => {
    // `/exit/<code>`, also after a static token prefix (static-token paths are forwarded unchanged).
    const exit = /(?:^|\/)exit\/(\d{1,3})\/?$/.exec(url.pathname);
    if (exit) {
      const code = Number(exit[1]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ exiting: code }) + '\n', () => {
        console.log(`exiting with code ${code} (asked by ${url.pathname})`);
        process.exit(code);
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/' && (req.headers.accept ?? '').includes('text/html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page());
      return;
    }
    const body = {
      path: req.url,
      method: req.method,
      headers: req.headers,
      body_length: bodyLength,
      env: backendEnv(),
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body) + '\n');
  });
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.send(JSON.stringify({ type: 'hello', path: req.url, headers: req.headers, env: backendEnv() }));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});

server.listen(port, host, () => {
  console.log(`echo backend ${process.env.SESSION_BACKEND_ID ?? '(no id)'} listening on http://${host}:${port}`);
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  console.log('got SIGTERM');
  for (const ws of wss.clients) ws.close(1001, 'backend stopping');
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // Never linger past a drone's grace period because of a stuck socket.
  setTimeout(() => process.exit(0), 2000).unref();
});
