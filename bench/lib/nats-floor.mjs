#!/usr/bin/env node
// The NATS floor: raw JetStream round trips with @nats-io/* (resolved from the repo's node_modules).
//   node nats-floor.mjs --nats URL --conc C --duration S --ops rtt,kvput,kvget,kvcreate,jspub,connect3
// Prints `FLOORJSON {op: {n, rate, p50, p99}, ..., client_cpu_us}`.
// Bucket `bench_floor` (history 1, file storage, direct get), stream BENCH_FLOOR on `benchfloor.>`:
// the same kinds of objects JetPlane uses, but not JetPlane's own.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { performance } from 'node:perf_hooks';
import crypto from 'node:crypto';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const url = arg('nats');
const conc = Number(arg('conc', 1));
const duration = Number(arg('duration', 2)) * 1000;
const ops = arg('ops', 'rtt,kvput,kvget,kvcreate,jspub,connect3').split(',');

const nc = await connect({ servers: url });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
try {
  await jsm.streams.info('BENCH_FLOOR');
} catch {
  await jsm.streams.add({ name: 'BENCH_FLOOR', subjects: ['benchfloor.>'], storage: StorageType.File, max_msgs: 1_000_000 });
}
const kv = await new Kvm(js).create('bench_floor', { history: 1, storage: StorageType.File });

const run = crypto.randomBytes(4).toString('hex');
// ~200 B JSON session-like record; 118 B event.
const VALUE = new TextEncoder().encode(JSON.stringify({ backend_id: 'abcdefghijklmn', cluster: '127.0.0.1:9090', user: 'alice', auth: { user: 'alice', roles: ['bench'] }, secret_token: 'x'.repeat(43), static: false, issued_at: Date.now() }));
const EVENT = new Uint8Array(118).fill(101);
for (let i = 0; i < 100; i++) await kv.put(`g.${i}`, VALUE);

let seq = 0;
const OPS = {
  rtt: () => nc.rtt(),
  kvput: () => kv.put(`p.${seq++ % 1000}`, VALUE),
  kvget: () => kv.get(`g.${seq++ % 100}`),
  kvcreate: () => kv.create(`c.${run}.${seq++}`, VALUE),
  jspub: () => js.publish(`benchfloor.ev.${seq++ % 100}`, EVENT),
  // A connect's minimum JetStream work: acquire (create) + record (put) + event (publish), sequential.
  connect3: async () => {
    const i = seq++;
    await kv.create(`k.${run}.${i}`, VALUE);
    await kv.put(`b.${run}.${i % 1000}`, VALUE);
    await js.publish(`benchfloor.ev.${i % 100}`, EVENT);
  },
};

function pct(v, p) {
  return v.length ? v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] : NaN;
}

const out = {};
const cpu0 = process.cpuUsage();
for (const op of ops) {
  const fn = OPS[op];
  // short warm-up
  for (let i = 0; i < 50; i++) await fn();
  const lat = [];
  const t0 = performance.now();
  const deadline = t0 + duration;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < deadline) {
        const s = performance.now();
        await fn();
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  out[op] = { n: lat.length, rate: lat.length / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}
const c = process.cpuUsage(cpu0);
out.client_cpu_us = c.user + c.system;
console.log(`FLOORJSON ${JSON.stringify(out)}`);
await nc.drain();
process.exit(0);
