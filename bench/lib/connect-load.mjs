#!/usr/bin/env node
// Control-plane load client (one process).
//   connect --http CONTROLLER_URL | --nats NATS_URL  --body JSON --conc C --duration S
//       Connects (existing key) as fast as C in flight allow; prints CONNJSON {rate, p50, p99, errors}.
//   pairs --http CONTROLLER_URL --body JSON --conc C --count N
//       N connect-then-request pairs: connect, then at once GET <url>small through the proxy.
//       Prints PAIRSJSON {failures, connect p50/p99, answer→first proxied byte p50/p99}.
//   fill --http CONTROLLER_URL --exec JSON --count N --conc C --deadline S --prefix P
//       N connects with new keys (spawns); prints FILLJSON {spawned, errors, seconds}.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const mode = process.argv[2];
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const conc = Number(arg('conc', 1));
const httpUrl = arg('http');
const natsUrl = arg('nats');

function pct(v, p) {
  return v.length ? v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] : NaN;
}
const sortNum = (v) => Float64Array.from(v).sort();

const ctlAgent = new http.Agent({ keepAlive: true, maxSockets: Math.max(conc, 1) });
const proxyAgent = new http.Agent({ keepAlive: true, maxSockets: Math.max(conc, 1) });

function request(url, { method = 'GET', body, agent, firstByte } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(url, { method, agent, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      const tFirst = performance.now();
      if (firstByte) firstByte(tFirst);
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), tFirst }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

async function makeConnector() {
  if (natsUrl) {
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: natsUrl });
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    return {
      async connect(body) {
        const m = await nc.request('jetplane.ctrl.connect', enc.encode(body), { timeout: 15_000 });
        const j = JSON.parse(dec.decode(m.data));
        return { status: j.error ? j.status : 200, json: j };
      },
      close: () => nc.drain(),
    };
  }
  return {
    async connect(body) {
      const r = await request(`${httpUrl}/ctrl/connect`, { method: 'POST', body, agent: ctlAgent });
      return { status: r.status, json: JSON.parse(r.body.toString()) };
    },
    close: async () => ctlAgent.destroy(),
  };
}

async function connectMode() {
  const body = arg('body');
  const duration = Number(arg('duration', 2)) * 1000;
  const c = await makeConnector();
  for (let i = 0; i < 20; i++) await c.connect(body); // warm
  const lat = [];
  let errors = 0;
  let firstError;
  const t0 = performance.now();
  const deadline = t0 + duration;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < deadline) {
        const s = performance.now();
        try {
          const r = await c.connect(body);
          if (r.status !== 200) {
            errors++;
            firstError ??= `${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
          } else lat.push(performance.now() - s);
        } catch (e) {
          errors++;
          firstError ??= String(e.message);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const v = sortNum(lat);
  await c.close();
  console.log(`CONNJSON ${JSON.stringify({ n: v.length, rate: v.length / secs, p50: pct(v, 50), p99: pct(v, 99), errors, firstError })}`);
}

async function pairsMode() {
  const body = arg('body');
  const count = Number(arg('count', 1000));
  const c = await makeConnector();
  const conLat = [];
  const fbLat = [];
  let failures = 0;
  const failureSamples = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < count) {
        next++;
        const s = performance.now();
        let r;
        try {
          r = await c.connect(body);
        } catch (e) {
          failures++;
          if (failureSamples.length < 5) failureSamples.push(`connect: ${e.message}`);
          continue;
        }
        const tAnswer = performance.now();
        if (r.status !== 200) {
          failures++;
          if (failureSamples.length < 5) failureSamples.push(`connect ${r.status}`);
          continue;
        }
        conLat.push(tAnswer - s);
        try {
          const g = await request(`${r.json.url}small`, { agent: proxyAgent });
          if (g.status !== 200 || g.body.length !== 100) {
            failures++;
            if (failureSamples.length < 5) failureSamples.push(`first request ${g.status} ${g.body.toString().slice(0, 80)}`);
          } else fbLat.push(g.tFirst - tAnswer);
        } catch (e) {
          failures++;
          if (failureSamples.length < 5) failureSamples.push(`first request: ${e.message}`);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cv = sortNum(conLat);
  const fv = sortNum(fbLat);
  await c.close();
  proxyAgent.destroy();
  console.log(
    `PAIRSJSON ${JSON.stringify({ count, ok: fv.length, failures, failureSamples, seconds: secs, pairsPerSec: count / secs, connect: { p50: pct(cv, 50), p99: pct(cv, 99) }, firstByte: { p50: pct(fv, 50), p99: pct(fv, 99), max: fv[fv.length - 1] } })}`,
  );
}

async function fillMode() {
  const exec = JSON.parse(arg('exec'));
  const count = Number(arg('count'));
  const deadline = performance.now() + Number(arg('deadline', 300)) * 1000;
  const prefix = arg('prefix', 'fill');
  const c = await makeConnector();
  let next = 0;
  let spawned = 0;
  let errors = 0;
  let firstError;
  const t0 = performance.now();
  let lastReport = t0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < count && performance.now() < deadline) {
        const i = next++;
        try {
          const r = await c.connect(JSON.stringify({ key: { name: `${prefix}-${i}` }, spawn_config: { executable: exec } }));
          if (r.status === 200) spawned++;
          else {
            errors++;
            firstError ??= `${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
          }
        } catch (e) {
          errors++;
          firstError ??= String(e.message);
        }
        if (performance.now() - lastReport > 5000) {
          lastReport = performance.now();
          console.log(`FILLPROGRESS ${spawned}`);
        }
      }
    }),
  );
  await c.close();
  console.log(`FILLJSON ${JSON.stringify({ spawned, errors, firstError, seconds: (performance.now() - t0) / 1000 })}`);
}

if (mode === 'connect') await connectMode();
else if (mode === 'pairs') await pairsMode();
else if (mode === 'fill') await fillMode();
else {
  console.error('usage: connect-load.mjs connect|pairs|fill ...');
  process.exit(2);
}
process.exit(0);
