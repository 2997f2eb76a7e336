#!/usr/bin/env node
// WebSocket load client (`ws`), one process.
//   pingpong --url ws://... --conns M --duration S [--size 64] [--warmup S]
//       M connections, each sends the next 64 B binary message only after its echo came back.
//       Prints `WSJSON {...}` with round trips/s, p50/p99 ms, errors.
//   idle --url ws://... --conns N [--parallel 100]
//       Opens N connections and keeps them open; prints `WSIDLE opened {...}`; on the line `close` on
//       stdin closes them all and prints `WSIDLE closed {...}`; then exits.
import WebSocket from 'ws';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';

const mode = process.argv[2];
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const url = arg('url');
const conns = Number(arg('conns', 50));

function open(u) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(u, { perMessageDeflate: false, handshakeTimeout: 30_000 });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

async function openMany(n, parallel) {
  const out = new Array(n);
  let next = 0;
  let errors = 0;
  let firstError;
  async function worker() {
    while (next < n) {
      const i = next++;
      try {
        out[i] = await open(url);
        out[i].on('error', () => {});
      } catch (e) {
        errors++;
        firstError ??= String(e.message ?? e);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return { sockets: out.filter(Boolean), errors, firstError };
}

function percentileSorted(v, p) {
  if (!v.length) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

async function pingpong() {
  const duration = Number(arg('duration', 5)) * 1000;
  const size = Number(arg('size', 64));
  const { sockets, errors: openErrors, firstError } = await openMany(conns, 50);
  if (sockets.length !== conns) {
    console.log(`WSJSON ${JSON.stringify({ error: `opened ${sockets.length}/${conns}: ${firstError}` })}`);
    process.exit(1);
  }
  const msg = Buffer.alloc(size, 'm');
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let errors = openErrors;
  let running = true;
  const t0 = performance.now();
  await new Promise((resolve) => {
    let active = sockets.length;
    for (const ws of sockets) {
      let sent = 0;
      const send = () => {
        sent = performance.now();
        ws.send(msg);
      };
      ws.on('message', () => {
        const now = performance.now();
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2);
          bigger.set(lat);
          lat = bigger;
        }
        lat[n++] = now - sent;
        if (running) send();
        else if (--active === 0) resolve();
      });
      ws.on('close', () => {
        if (running) errors++;
      });
      send();
    }
    setTimeout(() => {
      running = false;
    }, duration);
    // Hard stop if echoes stall.
    setTimeout(resolve, duration + 5_000);
  });
  const elapsed = (performance.now() - t0) / 1000;
  const v = lat.subarray(0, n).sort();
  const res = { conns, rts: n, seconds: elapsed, rate: n / elapsed, p50: percentileSorted(v, 50), p90: percentileSorted(v, 90), p99: percentileSorted(v, 99), max: v[n - 1], errors };
  for (const ws of sockets) ws.terminate();
  console.log(`WSJSON ${JSON.stringify(res)}`);
  process.exit(0);
}

async function idle() {
  const parallel = Number(arg('parallel', 100));
  const t0 = performance.now();
  const { sockets, errors, firstError } = await openMany(conns, parallel);
  // Every socket answers: one echo on each confirms the tunnel is up end to end.
  let echoed = 0;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          const t = setTimeout(resolve, 10_000);
          ws.once('message', () => {
            echoed++;
            clearTimeout(t);
            resolve();
          });
          ws.send('hi');
        }),
    ),
  );
  console.log(`WSIDLE opened ${JSON.stringify({ opened: sockets.length, echoed, errors, firstError, seconds: (performance.now() - t0) / 1000 })}`);
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.trim() !== 'close') continue;
    const t1 = performance.now();
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            const t = setTimeout(() => {
              ws.terminate();
              resolve();
            }, 5_000);
            ws.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            ws.close(1000);
          }),
      ),
    );
    console.log(`WSIDLE closed ${JSON.stringify({ seconds: (performance.now() - t1) / 1000 })}`);
    process.exit(0);
  }
  // stdin closed without "close": the parent went away.
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}

if (mode === 'pingpong') await pingpong();
else if (mode === 'idle') await idle();
else {
  console.error('usage: ws-client.mjs pingpong|idle --url ws://... --conns N [...]');
  process.exit(2);
}
