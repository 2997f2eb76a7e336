#!/usr/bin/env node
// JetPlane benchmarks: `npm run bench` (= node bench/run.mjs) starts everything itself on 127.0.0.1,
// runs bounded loads and prints Markdown tables. See bench/README.md.
//
//   node bench/run.mjs [--only http,ws,routes,control] [--rounds N] [--duration S] [--quick]
//                      [--setups direct,nginx,chp,node,jetplane] [--cpu-prof] [--idle-sockets N]
//                      [--tokens N] [--live-backends N] [--pairs N]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { stopAll } from './lib/proc.mjs';
import { machineInfo } from './lib/env.mjs';
import { startReferenceSetups, validateSetup, LABELS } from './lib/setups.mjs';
import { runHttp } from './lib/section-http.mjs';
import { runWsPingPong, runWsIdle } from './lib/section-ws.mjs';
import { runRoutes } from './lib/section-routes.mjs';
import { runControl } from './lib/section-control.mjs';
import { runProfile } from './lib/section-profile.mjs';
import { jetplaneAvailable, startStack, proxySetupFromStack } from './lib/jetplane.mjs';
import { renderReport } from './lib/report.mjs';
import { chpInstalled } from './lib/chp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = { only: ['http', 'ws', 'routes', 'control'], rounds: 3, duration: 5, quick: false, cpuProf: false, setups: ['direct', 'nginx', 'chp', 'node', 'jetplane'] };
  const explicit = new Set();
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') o.only = val().split(',').map((x) => x.trim()).filter(Boolean);
    else if (a === '--rounds') o.rounds = Number(val());
    else if (a === '--duration') o.duration = Number(val());
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--quick') o.quick = true;
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--setups') o.setups = val().split(',');
    else if (a === '--idle-sockets') o.idleSockets = Number(val());
    else if (a === '--tokens') o.tokens = Number(val());
    else if (a === '--live-backends') o.liveBackends = Number(val());
    else if (a === '--pairs') o.pairs = Number(val());
    else if (a === '--ws-conns') o.wsConns = val().split(',').map(Number);
    else if (a === '--help' || a === '-h') {
      console.log(readUsage());
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
    explicit.add(a);
  }
  if (o.quick) {
    if (!explicit.has('--rounds')) o.rounds = 1;
    if (!explicit.has('--duration')) o.duration = 1;
    o.warmup ??= 0.5;
  }
  o.warmup ??= 3;
  // 10,000 idle sockets would need 20,000+ descriptors in the proxy (client side + backend side);
  // the machine's hard limit is 20,000 per process; nginx also needs room for its upstream keepalive
  // cache and lingering connections within worker_connections, so the default stays under it.
  o.idleSockets ??= o.quick ? 1_000 : 9_800;
  o.idleCycles = 2;
  o.tokens ??= o.quick ? 10_000 : 100_000;
  o.liveBackends ??= o.quick ? 300 : 10_000;
  o.pairs ??= o.quick ? 500 : 10_000;
  o.wsConns ??= [100, 50, 1];
  for (const s of o.only) if (!['http', 'ws', 'routes', 'control', 'profile'].includes(s)) throw new Error(`unknown section ${s}`);
  if (o.cpuProf && !o.only.includes('profile')) o.only.push('profile');
  return o;
}

function readUsage() {
  return `usage: node bench/run.mjs [options]
  --only http,ws,routes,control   sections to run (default: all four; 'profile' = --cpu-prof only)
  --rounds N                      interleaved rounds (default 3; --quick: 1)
  --duration S                    seconds per measurement (default 5; --quick: 1)
  --warmup S                      warm-up seconds per setup before round 1 (default 3; --quick: 0.5)
  --quick                         short smoke run (≤ 3 s of load per setup)
  --setups a,b,...                subset of direct,nginx,chp,node,jetplane
  --cpu-prof                      also profile the JetPlane proxy under load (node --cpu-prof), top 15 self time
  --idle-sockets N                idle WebSockets per proxy (default 9,800; --quick 1,000)
  --tokens N                      live tokens for the route-table part (default 100,000)
  --live-backends N               live backends for the control-plane scale check (default 10,000)
  --pairs N                       connect-then-request pairs (default 10,000)`;
}

async function main() {
  const opts = parseArgs(process.argv);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(here, 'results', stamp);
  const logDir = path.join(resultsDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const t0 = Date.now();
  const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
  const machine = machineInfo();
  const ctx = { opts, log, logDir, resultsDir, machine, notes: [] };
  log(`results and logs: ${resultsDir}`);
  log(`${machine.cores} cores, ${machine.cpuModel}; node ${machine.versions.node}; sections ${opts.only.join(',')}; rounds ${opts.rounds} × ${opts.duration}s${opts.quick ? ' (quick)' : ''}`);

  const results = { machine, opts, sections: {} };
  results.command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();

  if (opts.setups.includes('chp') && !chpInstalled()) {
    opts.setups = opts.setups.filter((x) => x !== 'chp');
    ctx.notes.push('configurable-http-proxy not measured: bench-only dependencies missing (run `npm --prefix bench ci`).');
    log('chp: not installed (npm --prefix bench ci); skipped');
  }
  let wantJet = opts.setups.includes('jetplane');
  const avail = jetplaneAvailable();
  if (wantJet && !avail.ok) {
    ctx.notes.push(`JetPlane not measured: ${avail.reason}`);
    log(`jetplane: not available (${avail.reason}); reference setups only`);
    wantJet = false;
  }

  // Each part runs on its own: a failure is reported and the next part still runs.
  results.load = {};
  const part = async (name, fn) => {
    const load0 = os.loadavg()[0];
    try {
      await fn();
    } catch (e) {
      const msg = String(e.stack ?? e).split('\n').slice(0, 6).join(' | ');
      log(`${name}: FAILED: ${msg}`);
      ctx.notes.push(`Part ${name} failed: ${msg}`);
      results.sections[name] = { error: msg };
    } finally {
      await stopAll();
      results.load[name] = { start: load0, end: os.loadavg()[0] };
    }
  };

  if (opts.only.includes('http') || opts.only.includes('ws')) {
    await part('http+ws', async () => {
      const refNames = opts.setups.filter((s) => s !== 'jetplane');
      const ref = await startReferenceSetups(ctx, refNames);
      let stack = null;
      try {
        const setups = [...ref.setups];
        if (wantJet) {
          log('jetplane: starting nats-server, controller, drone, proxy and a real connect');
          stack = await startStack(ctx, { name: 'px' });
          setups.push(await proxySetupFromStack(ctx, stack));
        }
        for (const s of setups) {
          s.label ??= LABELS[s.name];
          s.check = await validateSetup(s);
          log(`check ${s.name}: ${s.check}`);
        }
        results.checks = setups.map((s) => `${s.label}: ${s.check}`);
        if (opts.only.includes('http')) {
          log('== 1. proxy HTTP ==');
          const http = await runHttp(ctx, setups);
          results.sections.http = http;
        }
        if (opts.only.includes('ws')) {
          log('== 2. proxy WebSocket ==');
          const ws = await runWsPingPong(ctx, setups);
          results.sections.ws = ws;
          // The JetPlane idle check runs on its own stack (proxy with --inspect); stop this one first.
          if (stack) await stack.stop();
          stack = null;
          const idle = await runWsIdle(ctx, setups);
          ws.idle = idle;
        }
      } finally {
        if (stack) await stack.stop();
        await ref.stop();
      }
    });
  }
  if (opts.only.includes('routes')) {
    await part('routes', async () => {
      log('== 3. route table ==');
      const routes = await runRoutes(ctx, { jetplane: wantJet });
      results.sections.routes = routes;
    });
  }
  if (opts.only.includes('control')) {
    await part('control', async () => {
      log(wantJet ? '== 4. control plane ==' : '== 4. control plane: NATS floor only (JetPlane not available) ==');
      const control = await runControl(ctx, { jetplane: wantJet });
      results.sections.control = control;
    });
  }
  if (opts.only.includes('profile')) {
    await part('profile', async () => {
      if (!wantJet) {
        log('profile: skipped, JetPlane not available');
        return;
      }
      log('== profile: JetPlane proxy under load (--cpu-prof) ==');
      const prof = await runProfile(ctx);
      results.sections.profile = prof;
    });
  }
  results.notes = ctx.notes;
  const report = renderReport(results);
  writeFileSync(path.join(resultsDir, 'results.json'), JSON.stringify(results, null, 1));
  writeFileSync(path.join(resultsDir, 'report.md'), report);
  console.log(`\n${report}`);
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${path.join(resultsDir, 'report.md')}`);
}

main().catch(async (e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  await stopAll();
  process.exit(1);
});
