// Part 4 – control plane:
//  a) connect latency p50/p99 and connects/s for an existing key at concurrency 1 and 32 (HTTP API and
//     NATS request), against the floor of raw KV create/put/get and JS publish round trips on the same
//     nats-server, interleaved; on two stacks side by side: ~100 live backends vs N live backends;
//  b) connect-then-request pairs: failed first requests, and connect answer → first proxied byte;
//  c) spawn overhead with the process executor: connect → ready minus the backend's own start time,
//     interleaved with direct spawns of the same backend by the bench.
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { runToEnd, start, freePort, sleep } from './proc.mjs';
import { cpuSnapshot, cpuDelta } from './cpu.mjs';
import { startNatsServer } from './nats-server.mjs';
import { startStack, benchExecutable } from './jetplane.mjs';
import { BACKEND_JS, httpGet } from './setups.mjs';
import { median, percentile, fmt, ratio, table } from './stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FLOOR_JS = path.join(here, 'nats-floor.mjs');
const LOAD_JS = path.join(here, 'connect-load.mjs');
const PORT_SERVER_JS = path.join(here, 'port-server.mjs');
const FLOOR_OPS = ['kvcreate', 'kvput', 'kvget', 'jspub', 'connect3'];
export const FLOOR_LABELS = {
  kvcreate: 'KV create (put-if-absent)',
  kvput: 'KV put',
  kvget: 'KV get (direct get)',
  jspub: 'JetStream publish + ack',
  connect3: 'KV create + KV put + JS publish, sequential ("connect floor")',
};

let runSeq = 0;

async function floorRun(ctx, nats, conc, seconds) {
  const snap = cpuSnapshot([nats.handle.pid]);
  const r = await runToEnd(`floor-${runSeq++}`, process.execPath, [FLOOR_JS, '--nats', nats.url, '--conc', String(conc), '--duration', String(seconds), '--ops', FLOOR_OPS.join(',')], {
    logDir: ctx.logDir,
    timeoutMs: (seconds * FLOOR_OPS.length + 60) * 1000,
  });
  const m = r.text.match(/FLOORJSON (\{.*\})/);
  if (!m) throw new Error(`nats floor failed: ${r.text.slice(-1500)}`);
  const j = JSON.parse(m[1]);
  const ops = FLOOR_OPS.reduce((a, op) => a + j[op].n, 0);
  j.server_us_per_op = cpuDelta(snap, cpuSnapshot([nats.handle.pid])) / ops;
  return j;
}

async function connectRun(ctx, stack, via, conc, seconds, body) {
  const pids = [stack.controller.pid, stack.nats.handle.pid];
  const snap = cpuSnapshot(pids);
  const target = via === 'nats' ? ['--nats', stack.nats.url] : ['--http', stack.controllerUrl];
  const r = await runToEnd(`connect-${runSeq++}`, process.execPath, [LOAD_JS, 'connect', ...target, '--body', body, '--conc', String(conc), '--duration', String(seconds)], {
    logDir: ctx.logDir,
    timeoutMs: (seconds + 90) * 1000,
  });
  const m = r.text.match(/CONNJSON (\{.*\})/);
  if (!m) throw new Error(`connect load failed: ${r.text.slice(-1500)}`);
  const j = JSON.parse(m[1]);
  const us = cpuDelta(snap, cpuSnapshot(pids));
  j.serverUsPerConnect = j.n ? us / j.n : NaN; // controller + nats-server
  return j;
}

function lightExecutable(ctlPort) {
  return {
    command: ['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${ctlPort}; echo "$PORT" >&3; read -r ok <&3; exec 3>&-; exec sleep 1800`],
  };
}

/** Counts a stack's backends by status from a KV watch of `jetplane_backends` (no API listing load). */
async function statusCounter(stack) {
  const { nc, kv } = await backendsBucket(stack);
  const status = new Map();
  const w = await kv.watch();
  const dec = new TextDecoder();
  (async () => {
    for await (const e of w) {
      if (e.operation !== 'PUT') status.delete(e.key);
      else status.set(e.key, JSON.parse(dec.decode(e.value)).state?.status);
    }
  })().catch(() => {});
  return {
    count(s = 'ready') {
      let n = 0;
      for (const v of status.values()) if (v === s) n++;
      return n;
    },
    live() {
      let n = 0;
      for (const v of status.values()) if (v !== 'terminated' && v !== 'terminating') n++;
      return n;
    },
    async stop() {
      w.stop();
      await nc.close();
    },
  };
}

/** Wait until the stack's components are quiet (CPU < 15 % of a core over 2 s), bounded. */
async function quiesce(stack, maxMs) {
  const pids = [stack.controller.pid, stack.nats.handle.pid, ...stack.drones.map((d) => d.pid), stack.proxy?.pid].filter(Boolean);
  const deadline = Date.now() + maxMs;
  for (;;) {
    const a = cpuSnapshot(pids);
    await sleep(2000);
    const pct = cpuDelta(a, cpuSnapshot(pids)) / 20_000;
    if (pct < 15 || Date.now() > deadline) return pct;
  }
}

/**
 * Bring a stack to `target` live (ready) backends with cheap process backends: connects with new keys
 * (16 in flight), then wait until the drones have walked them all to ready (no progress for 60 s or
 * `walkS` ends the wait), then until the stack is quiet. The count reached is reported.
 */
async function fillBackends(ctx, stack, target, portServerPort, deadlineS, walkS) {
  const counter = await statusCounter(stack);
  try {
    await sleep(500);
    const have = counter.count('ready');
    const need = target - have;
    const t0 = Date.now();
    let fill = { spawned: 0, errors: 0 };
    if (need > 0) {
      const r = await runToEnd(
        `fill-${stack.name}`,
        process.execPath,
        [LOAD_JS, 'fill', '--http', stack.controllerUrl, '--exec', JSON.stringify(lightExecutable(portServerPort)), '--count', String(need), '--conc', '16', '--deadline', String(deadlineS), '--prefix', `live-${stack.name}`],
        { logDir: ctx.logDir, timeoutMs: (deadlineS + 60) * 1000 },
      );
      const m = r.text.match(/FILLJSON (\{.*\})/);
      if (!m) throw new Error(`fill failed: ${r.text.slice(-1500)}`);
      fill = JSON.parse(m[1]);
    }
    const connectSeconds = (Date.now() - t0) / 1000;
    let ready = counter.count('ready');
    const waitUntil = Date.now() + walkS * 1000;
    let lastChange = Date.now();
    let lastLog = Date.now();
    while (ready < have + fill.spawned && Date.now() < waitUntil && Date.now() - lastChange < 60_000) {
      await sleep(1000);
      const now = counter.count('ready');
      if (now !== ready) lastChange = Date.now();
      ready = now;
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        ctx.log(`control: stack ${stack.name}: ${ready} ready of ${have + fill.spawned}`);
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const quietPct = await quiesce(stack, 120_000);
    ready = counter.count('ready');
    const live = counter.live();
    ctx.log(
      `control: stack ${stack.name}: ${ready} ready, ${live} live backends (target ${target}; ${fill.spawned} connects in ${fmt(connectSeconds)} s, ${fill.errors} errors${fill.firstError ? `: ${fill.firstError}` : ''}); ` +
        `all ready after ${fmt(seconds)} s; stack CPU then ${fmt(quietPct)} %`,
    );
    return { target, ready, live, spawned: fill.spawned, errors: fill.errors, firstError: fill.firstError, connectSeconds, seconds, quietPct };
  } finally {
    await counter.stop();
  }
}

/** Bench-side readiness probe (like the drone's: TCP connect + `HEAD /` answered with `HTTP/`). */
function probe(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.subarray(0, 5).toString('latin1') === 'HTTP/');
    });
    s.once('error', () => resolve(false));
  });
}

/** The backend's own start as the bench sees it: spawn `node backend.mjs` → first HTTP answer (2 ms polling). */
async function directSpawn(attempt = 0) {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [BACKEND_JS], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = null;
  child.stderr.on('data', (d) => (stderr += d));
  child.on('exit', (code, sig) => (exited = code ?? sig));
  try {
    const deadline = t0 + 20_000;
    while (!(await probe(port))) {
      if (exited !== null) {
        // e.g. EADDRINUSE: the free port was taken between the check and the listen; try another.
        if (attempt < 3) return directSpawn(attempt + 1);
        throw new Error(`direct spawn: backend exited (${exited}): ${stderr.slice(-500)}`);
      }
      if (performance.now() > deadline) throw new Error(`direct spawn: backend did not answer on ${port} in 20 s: ${stderr.slice(-500)}`);
      await sleep(2);
    }
    return performance.now() - t0;
  } finally {
    child.kill('SIGKILL');
  }
}

let natsMods;
async function backendsBucket(stack) {
  natsMods ??= { transport: await import('@nats-io/transport-node'), js: await import('@nats-io/jetstream'), kv: await import('@nats-io/kv') };
  const nc = await natsMods.transport.connect({ servers: stack.nats.url });
  const kv = await new natsMods.kv.Kvm(natsMods.js.jetstream(nc)).open('jetplane_backends');
  return { nc, kv };
}

/** connect (new key, bench backend) → status `ready` seen on a KV watch of the backend's record. */
async function jetplaneSpawn(stack, kv, i) {
  const t0 = performance.now();
  const r = await stack.connect({ key: { name: `spawn-${Date.now()}-${i}` }, spawn_config: { executable: benchExecutable() }, user: 'alice' });
  const tAnswer = performance.now();
  if (r.status !== 200) throw new Error(`spawn connect: ${r.status} ${JSON.stringify(r.json)}`);
  const id = r.json.backend_id;
  const w = await kv.watch({ key: id });
  let tReady;
  const dec = new TextDecoder();
  const timer = setTimeout(() => w.stop(), 30_000);
  for await (const e of w) {
    if (e.operation !== 'PUT') continue;
    const rec = JSON.parse(dec.decode(e.value));
    if (rec.state?.status === 'ready') {
      tReady = performance.now();
      break;
    }
    if (rec.state?.status === 'terminated') break;
  }
  clearTimeout(timer);
  w.stop();
  if (tReady === undefined) throw new Error(`backend ${id} never became ready`);
  let own = NaN;
  try {
    const s = await httpGet(`${r.json.url}startup`);
    own = JSON.parse(s.body.toString()).own_start_ms;
  } catch {
    // self-report is informational
  }
  await stack.terminate(id, true).catch(() => {});
  return { connectMs: tAnswer - t0, readyMs: tReady - t0, selfStartMs: own, backend: id };
}

export async function runControl(ctx, { jetplane }) {
  const { opts, log } = ctx;
  const out = {};
  const floorSeconds = Math.max(1, opts.duration / 2);
  if (!jetplane) {
    const nats = await startNatsServer({ name: 'floor-nats', logDir: ctx.logDir });
    try {
      out.floor = { 1: [], 32: [] };
      for (let r = 0; r < opts.rounds; r++) {
        for (const c of r % 2 ? [32, 1] : [1, 32]) {
          const f = await floorRun(ctx, nats, c, floorSeconds);
          out.floor[c].push(f);
          log(`floor r${r} c${c}: ${FLOOR_OPS.map((op) => `${op} ${fmt(f[op].p50)}/${fmt(f[op].p99)} ms ${fmt(f[op].rate)}/s`).join('  ')}`);
        }
      }
    } finally {
      await nats.stop();
    }
    return out;
  }

  const drones = 4;
  const stacks = [];
  let portServer;
  let spawnNc;
  try {
    const psPort = await freePort();
    portServer = start('port-server', process.execPath, [PORT_SERVER_JS, '--port', String(psPort)], { logDir: ctx.logDir });
    await portServer.waitFor(/"msg":"ready"/, 10_000);
    const A = await startStack(ctx, { name: 'ctl', drones });
    stacks.push(A);
    const B = await startStack(ctx, { name: 'scale', drones });
    stacks.push(B);
    const connA = await A.connectBench('bench-existing');
    const connB = await B.connectBench('bench-existing');
    out.live = {
      small: await fillBackends(ctx, A, 100, psPort, 120, 120),
      large: await fillBackends(ctx, B, opts.liveBackends, psPort, opts.quick ? 60 : 420, opts.quick ? 120 : 900),
    };
    const body = JSON.stringify({ key: { name: 'bench-existing' }, spawn_config: { executable: benchExecutable() }, user: 'alice', auth: { user: 'alice', roles: ['bench'] } });

    // a) interleaved: floor, then connect via HTTP and NATS on both stacks, at c1 and c32.
    const cases = [];
    for (const c of [1, 32]) {
      cases.push({ kind: 'floor', c });
      for (const [tag, st] of [
        ['small', A],
        ['large', B],
      ])
        for (const via of ['http', 'nats']) cases.push({ kind: 'connect', c, tag, st, via });
    }
    const runs = [];
    for (let r = 0; r < opts.rounds; r++) {
      const shift = (r * 2) % cases.length;
      for (const cs of [...cases.slice(shift), ...cases.slice(0, shift)]) {
        if (cs.kind === 'floor') {
          const f = await floorRun(ctx, A.nats, cs.c, floorSeconds);
          runs.push({ round: r, kind: 'floor', c: cs.c, ...f });
          log(`floor r${r} c${cs.c}: ${FLOOR_OPS.map((op) => `${op} ${fmt(f[op].p50)}/${fmt(f[op].p99)} ms ${fmt(f[op].rate)}/s`).join('  ')}`);
        } else {
          const j = await connectRun(ctx, cs.st, cs.via, cs.c, opts.duration, body);
          runs.push({ round: r, kind: 'connect', c: cs.c, tag: cs.tag, via: cs.via, ...j });
          log(`connect r${r} ${cs.tag}(${out.live[cs.tag].ready}) ${cs.via} c${cs.c}: ${fmt(j.rate)}/s  p50 ${fmt(j.p50)} ms  p99 ${fmt(j.p99)} ms  ctrl+nats ${fmt(j.serverUsPerConnect)} µs/connect  err ${j.errors}${j.firstError ? ` (${j.firstError})` : ''}`);
        }
      }
    }
    out.runs = runs;

    // b) connect-then-request pairs on stack A (its proxy).
    out.pairs = [];
    try {
      for (const [c, count] of [
        [1, Math.min(1000, Math.ceil(opts.pairs / 10))],
        [32, opts.pairs],
      ]) {
        const r = await runToEnd(`pairs-c${c}`, process.execPath, [LOAD_JS, 'pairs', '--http', A.controllerUrl, '--body', body, '--conc', String(c), '--count', String(count)], {
          logDir: ctx.logDir,
          timeoutMs: 600_000,
        });
        const m = r.text.match(/PAIRSJSON (\{.*\})/);
        if (!m) throw new Error(`pairs failed: ${r.text.slice(-1500)}`);
        const j = { conc: c, ...JSON.parse(m[1]) };
        out.pairs.push(j);
        log(`pairs c${c}: ${j.ok}/${j.count} ok, ${j.failures} failed${j.failures ? ` (${j.failureSamples.join('; ')})` : ''}; connect p50 ${fmt(j.connect.p50)} ms; answer→first proxied byte p50 ${fmt(j.firstByte.p50)} p99 ${fmt(j.firstByte.p99)} ms`);
      }
    } catch (e) {
      out.pairsError = String(e.message ?? e);
      ctx.notes.push(`connect-then-request pairs failed: ${out.pairsError}`);
      log(`pairs: FAILED: ${out.pairsError}`);
    }

    // c) spawn overhead, interleaved with direct spawns.
    try {
      const K = opts.quick ? 5 : 30;
      const { nc, kv } = await backendsBucket(A);
      spawnNc = nc;
      await directSpawn(); // warm the page cache
      const spawns = [];
      for (let i = 0; i < K; i++) {
        let d;
        let j;
        if (i % 2) {
          j = await jetplaneSpawn(A, kv, i);
          d = await directSpawn();
        } else {
          d = await directSpawn();
          j = await jetplaneSpawn(A, kv, i);
        }
        spawns.push({ directMs: d, ...j });
      }
      const readyP50 = median(spawns.map((s) => s.readyMs));
      const directP50 = median(spawns.map((s) => s.directMs));
      out.spawn = {
        n: K,
        readyP50,
        readyP99: percentile(spawns.map((s) => s.readyMs), 99),
        connectP50: median(spawns.map((s) => s.connectMs)),
        directP50,
        selfStartP50: median(spawns.map((s) => s.selfStartMs)),
        overheadP50: readyP50 - directP50,
        overheadSelfP50: median(spawns.map((s) => s.readyMs - s.selfStartMs)),
        spawns,
      };
      log(`spawn: connect→ready p50 ${fmt(readyP50)} ms (answer p50 ${fmt(out.spawn.connectP50)} ms); direct spawn→answer p50 ${fmt(directP50)} ms; overhead p50 ${fmt(out.spawn.overheadP50)} ms`);
    } catch (e) {
      out.spawnError = String(e.message ?? e);
      ctx.notes.push(`spawn overhead failed: ${out.spawnError}`);
      log(`spawn: FAILED: ${out.spawnError}`);
    }
  } finally {
    if (spawnNc) await spawnNc.close().catch(() => {});
    for (const s of stacks.reverse()) await s.stop();
    if (portServer) await portServer.stop();
  }
  return out;
}

function floorSummary(floorRuns) {
  const rows = [];
  for (const op of FLOOR_OPS) {
    const row = { op, label: FLOOR_LABELS[op] };
    for (const c of [1, 32]) {
      const fr = floorRuns.filter((x) => x.c === c);
      row[c] = { p50: median(fr.map((x) => x[op].p50)), p99: median(fr.map((x) => x[op].p99)), rate: median(fr.map((x) => x[op].rate)) };
    }
    rows.push(row);
  }
  return rows;
}

export function controlTables(out, ctx) {
  const parts = [];
  const floorRuns = out.runs ? out.runs.filter((x) => x.kind === 'floor') : [...(out.floor?.[1] ?? []).map((f) => ({ c: 1, ...f })), ...(out.floor?.[32] ?? []).map((f) => ({ c: 32, ...f }))];
  const floor = floorSummary(floorRuns);
  parts.push('**NATS floor** (@nats-io/* on the same nats-server, same run; median of rounds)\n');
  parts.push(table(['operation', 'c1 p50 ms', 'c1 p99 ms', 'c1 ops/s', 'c32 p50 ms', 'c32 p99 ms', 'c32 ops/s'], floor.map((r) => [r.label, fmt(r[1].p50), fmt(r[1].p99), fmt(r[1].rate), fmt(r[32].p50), fmt(r[32].p99), fmt(r[32].rate)])));
  parts.push('');
  if (!out.runs) return parts.join('\n');
  const f3 = floor.find((r) => r.op === 'connect3');
  const fget = floor.find((r) => r.op === 'kvget');
  const rows = [];
  for (const tag of ['small', 'large'])
    for (const via of ['http', 'nats'])
      for (const c of [1, 32]) {
        const rr = out.runs.filter((x) => x.kind === 'connect' && x.tag === tag && x.via === via && x.c === c);
        const p50 = median(rr.map((x) => x.p50));
        rows.push([
          `${via === 'http' ? 'HTTP `POST /ctrl/connect`' : 'NATS `jetplane.ctrl.connect`'}, ${out.live[tag].ready.toLocaleString('en')} live backends`,
          c,
          fmt(median(rr.map((x) => x.rate))),
          fmt(p50),
          fmt(median(rr.map((x) => x.p99))),
          ratio(p50 / f3[c].p50),
          ratio(p50 / fget[c].p50),
          fmt(median(rr.map((x) => x.serverUsPerConnect))),
          rr.reduce((a, x) => a + x.errors, 0),
        ]);
      }
  parts.push(`**Connect, existing key** (each connect issues a new token; median of ${ctx.opts.rounds} interleaved rounds)\n`);
  parts.push(table(['path', 'conc.', 'connects/s', 'p50 ms', 'p99 ms', 'p50 ÷ connect floor (create+put+publish)', 'p50 ÷ one KV get', 'controller + nats-server CPU µs/connect', 'errors'], rows));
  parts.push('');
  const ls = out.live.large;
  const how = '4 drones, process executor, each backend a `bash`→`sleep` process whose HTTP port is answered by lib/port-server.mjs';
  const fill = `${ls.spawned.toLocaleString('en')} connects (new keys) took ${fmt(ls.connectSeconds)} s; the drones had them ready ${fmt(ls.seconds)} s after the first`;
  if (ls.ready < ls.target) parts.push(`Live backends: **${ls.ready.toLocaleString('en')} ready instead of ${ls.target.toLocaleString('en')}** (${fill}; ${ls.errors} connect errors${ls.firstError ? `, first: ${ls.firstError}` : ''}; ${how}).\n`);
  else parts.push(`Live backends: ${ls.ready.toLocaleString('en')} ready (${fill}; ${how}). Measurements started once the stack was quiet.\n`);
  if (out.pairs?.length) {
  parts.push('**Connect then request** (connect, then at once `GET <url>small` through the JetPlane proxy)\n');
  parts.push(
    table(
      ['concurrency', 'pairs', 'failed first requests', 'connect p50 ms', 'answer → first proxied byte p50 ms', 'p99 ms', 'max ms'],
      out.pairs.map((p) => [p.conc, p.count.toLocaleString('en'), p.failures, fmt(p.connect.p50), fmt(p.firstByte.p50), fmt(p.firstByte.p99), fmt(p.firstByte.max)]),
    ),
  );
  parts.push('');
  }
  const s = out.spawn;
  if (!s) return parts.join('\n');
  parts.push(`**Spawn overhead, process executor** (${s.n} spawns of the bench backend, interleaved with ${s.n} direct spawns by the bench)\n`);
  parts.push(
    table(
      ['connect answer p50 ms', 'connect → ready p50 ms', 'p99 ms', 'backend own start p50 ms (spawn → HTTP answer, bench-side)', 'self-reported node start→listen p50 ms', '**overhead p50 ms**', 'overhead vs self-report p50 ms'],
      [[fmt(s.connectP50), fmt(s.readyP50), fmt(s.readyP99), fmt(s.directP50), fmt(s.selfStartP50), `**${fmt(s.overheadP50)}**`, fmt(s.overheadSelfP50)]],
    ),
  );
  return parts.join('\n');
}
