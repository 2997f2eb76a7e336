// JetPlane stack launcher: nats-server on a free port, then `node apps/cli/bin/jetplane.js
// controller | drone | proxy` as child processes (PIDs kept), a real connect whose process executable is
// the bench backend, and helpers used by the sections (tokens straight into KV, live-backend fill).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { start, freePort, waitPort, sleep, descendants } from './proc.mjs';
import { startNatsServer } from './nats-server.mjs';
import { REPO } from './env.mjs';
// The proxy runs as JetPlane documents and `jetplane dev` runs it: `node --no-memory-reducer` (see libs/proxy/src/node-flags.ts).
import { PROXY_NODE_FLAGS } from '@jetplane/proxy';
import { BACKEND_JS, httpGet } from './setups.mjs';

export const JETPLANE_JS = path.join(REPO, 'apps', 'cli', 'bin', 'jetplane.js');

let availability;
/** Whether the JetPlane CLI is built and runs its component commands. */
export function jetplaneAvailable() {
  if (availability) return availability;
  if (!existsSync(JETPLANE_JS)) return (availability = { ok: false, reason: `${JETPLANE_JS} missing` });
  if (!existsSync(path.join(REPO, 'apps', 'cli', 'dist', 'main.js'))) return (availability = { ok: false, reason: 'apps/cli not built (run `npm run build`)' });
  for (const c of ['controller', 'drone', 'proxy']) {
    const r = spawnSync(process.execPath, [JETPLANE_JS, c, '--help'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) return (availability = { ok: false, reason: `\`jetplane ${c} --help\` failed: ${(r.stderr || r.stdout).split('\n').slice(0, 3).join(' ')}` });
  }
  return (availability = { ok: true });
}

const READY = /"msg":"ready"/;

/** `{"command":[node, backend.mjs]}`: the bench backend, reading PORT from the environment. */
export function benchExecutable() {
  return { command: [process.execPath, BACKEND_JS] };
}

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json };
}

/**
 * Start nats-server, a controller, `drones` drones (process executor) and (unless proxy:false) a
 * proxy for cluster `127.0.0.1:<proxy port>`. `proxyNodeArgs` go to node before the CLI script, after
 * PROXY_NODE_FLAGS.
 */
export async function startStack(ctx, { name = 'jp', drones = 1, proxy = true, proxyNodeArgs = [], logLevel } = {}) {
  const { logDir } = ctx;
  const stops = [];
  const stack = { name, drones: [] };
  const env = logLevel ? { JETPLANE_LOG_LEVEL: logLevel } : {};
  try {
    stack.nats = await startNatsServer({ name: `${name}-nats`, logDir });
    stops.push(() => stack.nats.stop());
    stack.proxyPort = await freePort();
    stack.cluster = `127.0.0.1:${stack.proxyPort}`;
    stack.controllerPort = await freePort();
    stack.controllerUrl = `http://127.0.0.1:${stack.controllerPort}`;

    stack.controller = start(`${name}-controller`, process.execPath, [JETPLANE_JS, 'controller', '--nats', stack.nats.url, '--host', '127.0.0.1', '--port', String(stack.controllerPort), '--default-cluster', stack.cluster], { logDir, env });
    stops.push(() => stack.controller.stop('SIGTERM', 10_000));
    for (let i = 0; i < drones; i++) {
      const health = await freePort();
      const d = start(`${name}-drone${i}`, process.execPath, [JETPLANE_JS, 'drone', '--nats', stack.nats.url, '--cluster', stack.cluster, '--executor', 'process', '--name', `bench-${name.replace(/[^a-z0-9-]/g, '')}-d${i}`.slice(0, 45), '--health-port', String(health)], { logDir, env });
      stack.drones.push(d);
      stops.push(() => d.stop('SIGTERM', 20_000));
    }
    if (proxy) {
      stack.proxyHealthPort = await freePort();
      stack.proxy = start(`${name}-proxy`, process.execPath, [...PROXY_NODE_FLAGS, ...proxyNodeArgs, JETPLANE_JS, 'proxy', '--nats', stack.nats.url, '--cluster', stack.cluster, '--host', '127.0.0.1', '--port', String(stack.proxyPort), '--health-port', String(stack.proxyHealthPort)], { logDir, env });
      stops.push(() => stack.proxy.stop('SIGTERM', 15_000));
    }
    await stack.controller.waitFor(READY, 30_000);
    for (const d of stack.drones) await d.waitFor(READY, 30_000);
    if (proxy) await stack.proxy.waitFor(READY, 30_000);
    await waitDronesListed(stack, drones);
  } catch (e) {
    for (const s of stops.reverse()) await s().catch(() => {});
    throw e;
  }

  stack.connect = (body) => post(`${stack.controllerUrl}/ctrl/connect`, body);
  stack.status = async (backendId) => {
    const r = await httpGet(`${stack.controllerUrl}/pub/c/${encodeURIComponent(stack.cluster)}/b/${backendId}/status`);
    return { status: r.status, json: r.status === 200 ? JSON.parse(r.body.toString()) : null };
  };
  stack.terminate = (backendId, hard = true) => post(`${stack.controllerUrl}/ctrl/c/${encodeURIComponent(stack.cluster)}/b/${backendId}/${hard ? 'hard' : 'soft'}-terminate`);
  /** Wait (polling the public status API) until the backend is ready. */
  stack.waitReady = async (backendId, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await stack.status(backendId);
      if (s.json?.status === 'ready') return s.json;
      if (s.json?.status === 'terminated') throw new Error(`backend ${backendId} terminated: ${JSON.stringify(s.json)}`);
      if (Date.now() > deadline) throw new Error(`backend ${backendId} not ready after ${timeoutMs} ms: ${JSON.stringify(s.json)}`);
      await sleep(20);
    }
  };
  /** Connect with a key whose backend is the bench backend (spawned on the first call), wait until it is ready. */
  stack.connectBench = async (key = 'bench-backend') => {
    const r = await stack.connect({ key: { name: key }, spawn_config: { executable: benchExecutable() }, user: 'alice', auth: { user: 'alice', roles: ['bench'] } });
    if (r.status !== 200) throw new Error(`connect failed: ${r.status} ${JSON.stringify(r.json)}`);
    await stack.waitReady(r.json.backend_id);
    return r.json;
  };
  stack.stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  return stack;
}

async function waitDronesListed(stack, n, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await httpGet(`${stack.controllerUrl}/ctrl/drones`);
      if (r.status === 200) {
        const list = JSON.parse(r.body.toString());
        const arr = Array.isArray(list) ? list : (list.drones ?? []);
        if (arr.filter((d) => (d.state ?? d.status ?? 'ready') === 'ready').length >= n) return;
      }
    } catch {
      // controller still starting
    }
    if (Date.now() > deadline) throw new Error(`controller does not list ${n} ready drone(s) after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** PID of the bench backend the drone started (descendant of a drone whose cmdline has backend.mjs). */
export function backendPidOf(stack) {
  for (const d of stack.drones) {
    for (const pid of descendants(d.pid)) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('backend.mjs')) return pid;
      } catch {
        // gone
      }
    }
  }
  return null;
}

/** The `jetplane` setup of the proxy comparisons: a real token through the stack's proxy. */
export async function proxySetupFromStack(ctx, stack) {
  const conn = await stack.connectBench();
  const base = conn.url.replace(/\/$/, '');
  // The first request may race the route: the contract says it must work at once; wait up to 5 s anyway.
  const deadline = Date.now() + 5_000;
  for (;;) {
    const r = await httpGet(`${base}/small`).catch((e) => ({ status: String(e.message) }));
    if (r.status === 200) break;
    if (Date.now() > deadline) throw new Error(`jetplane proxy: ${base}/small answered ${r.status}`);
    await sleep(50);
  }
  return { name: 'jetplane', base, proxyPid: stack.proxy.pid, backendPid: backendPidOf(stack), connect: conn, metricsUrl: `http://127.0.0.1:${stack.proxyHealthPort}/metrics` };
}

// --- tokens straight into the KV bucket (route-table part) -------------------------------------------

let natsMods;
async function natsModules() {
  natsMods ??= {
    transport: await import('@nats-io/transport-node'),
    js: await import('@nats-io/jetstream'),
    kv: await import('@nats-io/kv'),
  };
  return natsMods;
}

/**
 * Issue `n` more tokens for `backendId` exactly as the controller stores them (TokenStore.issue:
 * index `b.<backend>.<hash>` then route `r.<hash>`), 64 writes in flight. Returns the tokens.
 */
export async function issueTokens(ctx, stack, backendId, n) {
  const { transport, js, kv } = await natsModules();
  const nc = await transport.connect({ servers: stack.nats.url });
  const tokens = [];
  try {
    const bucket = await new kv.Kvm(js.jetstream(nc)).open('jetplane_tokens');
    const enc = new TextEncoder();
    const EMPTY = new Uint8Array(0);
    let i = 0;
    const t0 = Date.now();
    async function worker() {
      while (i < n) {
        i++;
        const token = crypto.randomBytes(32).toString('base64url');
        const hash = crypto.createHash('sha256').update(token).digest('base64url');
        const rec = {
          backend_id: backendId,
          cluster: stack.cluster,
          user: `user-${i}`,
          auth: { user: `user-${i}`, org: 'bench', roles: ['a', 'b'], n: i },
          secret_token: crypto.randomBytes(32).toString('base64url'),
          static: false,
          issued_at: Date.now(),
        };
        await bucket.put(`b.${backendId}.${hash}`, EMPTY);
        await bucket.put(`r.${hash}`, enc.encode(JSON.stringify(rec)));
        tokens.push(token);
      }
    }
    await Promise.all(Array.from({ length: 64 }, worker));
    ctx.log(`routes: issued ${n} tokens into jetplane_tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await nc.drain();
  }
  return tokens;
}

/** Read the proxy's /metrics (health port); returns the text or ''. */
export async function proxyMetrics(stack) {
  try {
    const r = await httpGet(`http://127.0.0.1:${stack.proxyHealthPort}/metrics`);
    return r.status === 200 ? r.body.toString() : '';
  } catch {
    return '';
  }
}

/**
 * Wait until the proxy holds `n` routes: from a route-count gauge on /metrics when it has one,
 * otherwise until the proxy's CPU goes quiet after the KV watch backlog.
 */
export async function waitProxyRoutes(ctx, stack, n, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  const gaugeRe = /^(jetplane_proxy_routes\w*)(\{[^}]*\})?\s+(\d+(?:\.\d+)?)/m;
  let last = '';
  while (Date.now() < deadline) {
    const text = await proxyMetrics(stack);
    const m = text.match(gaugeRe);
    if (m) {
      last = `${m[1]}=${m[3]}`;
      if (Number(m[3]) >= n) return { note: `proxy metric ${last}` };
    } else break;
    await sleep(250);
  }
  if (last) return { note: `proxy metric ${last} (timeout waiting for ${n})` };
  // No gauge: wait for the proxy to stop working through the watch (CPU < 2 % over 1 s, 3 times).
  const { cpuSampler } = await import('./cpu.mjs');
  let quiet = 0;
  while (Date.now() < deadline && quiet < 3) {
    const s = cpuSampler([stack.proxy.pid]);
    await sleep(1000);
    quiet = s.stop().pct < 2 ? quiet + 1 : 0;
  }
  return { note: 'proxy CPU quiet (no route gauge on /metrics)' };
}

export { waitPort };
