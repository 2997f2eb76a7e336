// The setups every proxy comparison runs side by side:
//   direct   – the bench backend itself (node:http + ws echo)
//   nginx    – nginx 1 worker, upstream keepalive (lib/nginx.mjs)
//   chp      – configurable-http-proxy 5.3.0 with one route added through its REST API
//   node     – the hand-written node:http pass-through proxy (lib/node-proxy.mjs), the Node baseline
//   jetplane – `jetplane proxy` routing a real token issued by `jetplane controller`, backend started by
//              `jetplane drone` with the process executor (lib/jetplane.mjs)
// Each setup: {name, label, base (URL prefix for HTTP), wsBase, proxyPid (null for direct), backendPid}.
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { start, freePort, waitPort } from './proc.mjs';
import { startNginx } from './nginx.mjs';
import { startChp } from './chp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BACKEND_JS = path.join(here, 'backend.mjs');
export const NODE_PROXY_JS = path.join(here, 'node-proxy.mjs');
export const TOKEN = 'tok123';

export const LABELS = {
  direct: 'direct (node:http backend)',
  nginx: 'nginx reverse proxy, 1 worker',
  chp: 'configurable-http-proxy 5.3.0',
  node: 'node:http pass-through (baseline)',
  jetplane: '**JetPlane proxy** (real token)',
};

export async function startBackend(logDir, name = 'backend') {
  const port = await freePort();
  const handle = start(`${name}-${port}`, process.execPath, [BACKEND_JS, '--port', String(port)], { logDir });
  await handle.waitFor(/"msg":"ready"/, 10_000);
  return { handle, port, pid: handle.pid, stop: () => handle.stop() };
}

export async function startNodeProxy(logDir, backendPort, extraArgs = [], name = 'node-proxy') {
  const port = await freePort();
  const handle = start(`${name}-${port}`, process.execPath, [NODE_PROXY_JS, '--port', String(port), '--route', `${TOKEN}=127.0.0.1:${backendPort}`, ...extraArgs], { logDir });
  await handle.waitFor(/"msg":"ready"/, 60_000);
  return { handle, port, pid: handle.pid, stop: () => handle.stop() };
}

/** Start the reference setups named in `names` (all but jetplane) against one shared bench backend. */
export async function startReferenceSetups(ctx, names) {
  const { logDir } = ctx;
  const setups = [];
  const stops = [];
  const backend = await startBackend(logDir);
  stops.push(backend.stop);
  const bp = backend.port;
  try {
    for (const name of names) {
      if (name === 'direct') {
        setups.push({ name, base: `http://127.0.0.1:${bp}`, proxyPid: null, backendPid: backend.pid });
      } else if (name === 'nginx') {
        const n = await startNginx({ port: await freePort(), backendPort: bp, logDir });
        stops.push(n.stop);
        setups.push({ name, base: `http://127.0.0.1:${n.port}/${TOKEN}`, proxyPid: n.handle.pid, backendPid: backend.pid });
      } else if (name === 'chp') {
        const c = await startChp({ port: await freePort(), apiPort: await freePort(), backendPort: bp, logDir });
        stops.push(c.stop);
        setups.push({ name, base: `http://127.0.0.1:${c.port}/${TOKEN}`, proxyPid: c.handle.pid, backendPid: backend.pid });
      } else if (name === 'node') {
        const p = await startNodeProxy(logDir, bp);
        stops.push(p.stop);
        setups.push({ name, base: `http://127.0.0.1:${p.port}/${TOKEN}`, proxyPid: p.pid, backendPid: backend.pid });
      }
    }
  } catch (e) {
    for (const s of stops.reverse()) await s().catch(() => {});
    throw e;
  }
  for (const s of setups) s.label = LABELS[s.name];
  return {
    backend,
    setups,
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
    },
  };
}

export const wsUrl = (base, p) => `${base.replace(/^http/, 'ws')}/${p}`;

/** GET with node:http (no keep-alive); resolves {status, headers, body: Buffer}. */
export function httpGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout ${url}`)));
    req.on('error', reject);
  });
}

/**
 * Check a setup before measuring it: exact body sizes, the path the backend sees, the identity
 * headers the proxy injects (HTTP and WebSocket upgrade), and that a client-sent x-verified-* header
 * does not get through. Returns a short note; throws if the setup is broken.
 */
export async function validateSetup(s) {
  const small = await httpGet(`${s.base}/small`);
  const big = await httpGet(`${s.base}/big`);
  if (small.status !== 200 || small.body.length !== 100) throw new Error(`${s.name}: /small gave ${small.status}, ${small.body.length} B`);
  if (big.status !== 200 || big.body.length !== 65536) throw new Error(`${s.name}: /big gave ${big.status}, ${big.body.length} B`);
  const who = await httpGet(`${s.base}/whoami?x=1`, { 'x-verified-username': 'mallory' });
  const seen = JSON.parse(who.body.toString());
  const h = seen.headers;
  const notes = [`path seen by backend: ${seen.url}`];
  if (s.proxyPid) {
    if (!h['x-verified-username'] || h['x-verified-username'] === 'mallory') notes.push('WARNING: x-verified-username not rewritten');
    else notes.push(`x-verified-username=${h['x-verified-username']}`);
    const injected = Object.keys(h).filter((k) => k.startsWith('x-verified-') || k.startsWith('x-forwarded-'));
    notes.push(`injected: ${injected.sort().join(',')}`);
  }
  // WebSocket upgrade through the setup, with the headers the backend saw.
  const wsHeaders = await new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(s.base, 'ws-whoami'), { perMessageDeflate: false });
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${s.name}: ws-whoami timeout`));
    }, 10_000);
    ws.once('message', (d) => {
      clearTimeout(t);
      ws.close();
      resolve(JSON.parse(d.toString()).headers);
    });
    ws.once('error', (e) => {
      clearTimeout(t);
      reject(new Error(`${s.name}: ws: ${e.message}`));
    });
  });
  if (s.proxyPid && !wsHeaders['x-verified-username']) notes.push('WARNING: no x-verified-username on upgrade');
  else if (s.proxyPid) notes.push('ws upgrade: identity injected');
  return notes.join('; ');
}

export { waitPort };
