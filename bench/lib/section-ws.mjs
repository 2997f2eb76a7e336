// Part 2 – proxy WebSocket: strict ping-pong round trips over 100 / 50 / 1 open sockets (64 B binary
// messages, one client process), interleaved rounds; then N idle WebSockets through each proxy:
// RSS per socket, and RSS after closing them all.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd, start, sleep, descendants, freePort } from './proc.mjs';
import { cpuSnapshot, cpuDelta, rssTree, fdCount } from './cpu.mjs';
import { median, minMax, pairedRatio, fmt, ratio, table, mb } from './stats.mjs';
import { wsUrl, httpGet } from './setups.mjs';
import { startStack, proxySetupFromStack } from './jetplane.mjs';
import { inspectorHeap } from './inspector.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WS_CLIENT = path.join(here, 'ws-client.mjs');

async function pingpong(ctx, s, conns, duration, tag) {
  const watch = { proxy: s.proxyPid ? [s.proxyPid] : [], backend: [s.backendPid] };
  const before = Object.fromEntries(Object.entries(watch).map(([k, p]) => [k, cpuSnapshot(p)]));
  const t0 = process.hrtime.bigint();
  const r = await runToEnd(`ws-client-${tag}`, process.execPath, [WS_CLIENT, 'pingpong', '--url', wsUrl(s.base, 'ws'), '--conns', String(conns), '--duration', String(duration)], {
    logDir: ctx.logDir,
    timeoutMs: (duration + 60) * 1000,
  });
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
  const m = r.text.match(/WSJSON (\{.*\})/);
  if (!m) throw new Error(`ws client failed for ${s.name} (${conns} conns): ${r.text.slice(-1000)}`);
  const j = JSON.parse(m[1]);
  if (j.error) throw new Error(`ws client for ${s.name}: ${j.error}`);
  const cpu = {};
  for (const [k, p] of Object.entries(watch)) {
    const us = cpuDelta(before[k], cpuSnapshot(p));
    cpu[k] = { us, pct: (100 * us) / wallUs, usPerRt: j.rts ? us / j.rts : NaN };
  }
  return { ...j, cpu };
}

export async function runWsPingPong(ctx, setups) {
  const { opts, log } = ctx;
  const connList = opts.wsConns;
  const cases = [];
  for (const s of setups) for (const c of connList) cases.push({ s, c });
  const runs = [];
  let n = 0;
  if (opts.warmup > 0) {
    log(`ws: warm-up ${opts.warmup}s per setup`);
    for (const s of setups) await pingpong(ctx, s, 50, opts.warmup, `warm-${s.name}`);
  }
  for (let r = 0; r < opts.rounds; r++) {
    const shift = (r * connList.length) % cases.length;
    const order = [...cases.slice(shift), ...cases.slice(0, shift)];
    for (const { s, c } of order) {
      const res = await pingpong(ctx, s, c, opts.duration, String(n++));
      runs.push({ round: r, setup: s.name, conns: c, ...res });
      log(
        `ws   r${r} ${s.name.padEnd(8)} ${String(c).padStart(3)} socks ${fmt(res.rate).padStart(6)} rt/s  p50 ${fmt(res.p50)} ms  p99 ${fmt(res.p99)} ms  ` +
          `proxy ${s.proxyPid ? `${fmt(res.cpu.proxy.usPerRt)} µs/rt (${fmt(res.cpu.proxy.pct)} %)` : '—'}  err ${res.errors}`,
      );
    }
  }
  const summary = {};
  for (const c of connList) {
    const series = (name, f) => {
      const v = new Array(opts.rounds).fill(NaN);
      for (const x of runs) if (x.setup === name && x.conns === c) v[x.round] = f(x);
      return v;
    };
    const rate = Object.fromEntries(setups.map((s) => [s.name, series(s.name, (x) => x.rate)]));
    summary[c] = setups.map((s) => {
      const [lo, hi] = minMax(rate[s.name]);
      return {
        setup: s.name,
        label: s.label,
        rate: median(rate[s.name]),
        rateMin: lo,
        rateMax: hi,
        p50: median(series(s.name, (x) => x.p50)),
        p99: median(series(s.name, (x) => x.p99)),
        vsNginx: rate.nginx ? pairedRatio(rate[s.name], rate.nginx) : NaN,
        vsChp: rate.chp ? pairedRatio(rate[s.name], rate.chp) : NaN,
        vsNode: rate.node ? pairedRatio(rate[s.name], rate.node) : NaN,
        proxyUsPerRt: s.proxyPid ? median(series(s.name, (x) => x.cpu.proxy.usPerRt)) : NaN,
        proxyPct: s.proxyPid ? median(series(s.name, (x) => x.cpu.proxy.pct)) : NaN,
        errors: series(s.name, (x) => x.errors).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      };
    });
  }
  return { runs, summary };
}

export function wsTables(summary, rounds) {
  const parts = [];
  for (const [c, rows] of Object.entries(summary).sort((a, b) => Number(b[0]) - Number(a[0]))) {
    parts.push(`**${c} open socket${c === '1' ? '' : 's'}**, strict ping-pong, 64 B (median of ${rounds} round${rounds > 1 ? 's' : ''})\n`);
    parts.push(
      table(
        ['setup', 'round trips/s', 'p50 ms', 'p99 ms', '÷ nginx', '÷ CHP', '÷ node', 'proxy CPU µs/rt', 'proxy CPU %', 'errors'],
        rows.map((r) => [
          r.label,
          `${fmt(r.rate)} (${fmt(r.rateMin)}–${fmt(r.rateMax)})`,
          fmt(r.p50),
          fmt(r.p99),
          ratio(r.vsNginx),
          ratio(r.vsChp),
          ratio(r.vsNode),
          fmt(r.proxyUsPerRt),
          fmt(r.proxyPct),
          r.errors,
        ]),
      ),
    );
    parts.push('');
  }
  return parts.join('\n');
}

/** Heap used and open tunnels from a proxy's Prometheus /metrics (JetPlane only), or null. */
async function heapOf(s) {
  if (!s.metricsUrl) return null;
  try {
    const r = await httpGet(s.metricsUrl);
    const t = r.body.toString();
    const num = (re) => Number((t.match(re) ?? [])[1] ?? NaN);
    return { heapUsed: num(/^jetplane_nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+(\S+)/m), openWs: num(/^jetplane_proxy_open_websockets(?:\{[^}]*\})?\s+(\S+)/m) };
  } catch {
    return null;
  }
}

/** Wait until the tree's RSS stops moving (or `maxMs`), sampling every 500 ms; returns the last RSS. */
async function settledRss(pid, maxMs, minMs = 0) {
  if (minMs) await sleep(minMs);
  let last = rssTree(pid);
  const deadline = Date.now() + maxMs;
  let stable = 0;
  while (Date.now() < deadline) {
    await sleep(500);
    const now = rssTree(pid);
    stable = Math.abs(now - last) < 256 * 1024 ? stable + 1 : 0;
    last = now;
    if (stable >= 4) break;
  }
  return last;
}

/**
 * N idle WebSockets through each proxy: RSS before, with N open (→ KiB per socket), after closing them
 * all and idling ≥ 10 s. JetPlane runs on a dedicated stack whose proxy has `--inspect` so the bench can
 * force a full GC and read the exact heap: two open/close cycles, RSS and heap after GC each time
 * (growth across cycles after GC would be a leak; RSS that V8/malloc simply keep is not).
 */
export async function runWsIdle(ctx, setups) {
  const { opts, log } = ctx;
  const N = opts.idleSockets;
  const out = [];
  for (const s0 of setups.filter((x) => x.proxyPid)) {
    let s = s0;
    let stack = null;
    let inspect = null;
    try {
      if (s0.name === 'jetplane') {
        inspect = await freePort();
        stack = await startStack(ctx, { name: 'idle', proxyNodeArgs: [`--inspect=127.0.0.1:${inspect}`] });
        s = { ...(await proxySetupFromStack(ctx, stack)), label: s0.label };
      }
      const pid = s.proxyPid;
      const gcHeap = async () => (inspect ? (await inspectorHeap(inspect)).usedSize : NaN);
      const row = { setup: s.name, label: s.label, sockets: N, cycles: [], forcedGc: !!inspect };
      row.heapStart = await gcHeap();
      const rssStart = await settledRss(pid, 5_000);
      row.rssStart = rssStart;
      // Two open/close cycles for JetPlane; one for the references.
      const cycles = s.name === 'jetplane' ? opts.idleCycles : 1;
      let before = rssStart;
      for (let cycle = 0; cycle < cycles; cycle++) {
        const client = start(`ws-idle-${s.name}-${cycle}`, process.execPath, [WS_CLIENT, 'idle', '--url', wsUrl(s.base, 'ws'), '--conns', String(N), '--parallel', '100'], {
          logDir: ctx.logDir,
          stdin: 'pipe',
        });
        try {
          const m = await client.waitFor(/WSIDLE opened (\{.*\})/, 180_000);
          const opened = JSON.parse(m[1]);
          const rssOpen = await settledRss(pid, 4_000);
          const heapOpen = await gcHeap();
          const gauge = await heapOf(s);
          const fds = [pid, ...descendants(pid)].reduce((a, p) => a + Math.max(0, fdCount(p)), 0);
          client.child.stdin.write('close\n');
          await client.waitFor(/WSIDLE closed/, 60_000);
          // After closing: at least 10 s idle, then until RSS is stable (or 20 s more).
          const rssClosed = await settledRss(pid, opts.quick ? 5_000 : 20_000, opts.quick ? 2_000 : 10_000);
          const heapClosed = await gcHeap();
          const rssAfterGc = inspect ? await settledRss(pid, 5_000, 500) : NaN;
          const gaugeClosed = await heapOf(s);
          const c = {
            before,
            rssOpen,
            rssClosed,
            rssAfterGc,
            heapOpen,
            heapClosed,
            openWs: gauge?.openWs,
            openWsAfter: gaugeClosed?.openWs,
            opened: opened.opened,
            echoed: opened.echoed,
            errors: opened.errors,
            openSeconds: opened.seconds,
            fdsOpen: fds,
            perSocket: (rssOpen - before) / Math.max(1, opened.opened),
          };
          row.cycles.push(c);
          log(
            `ws-idle ${s.name.padEnd(8)} cycle ${cycle}: opened ${opened.opened}/${N} (echo ${opened.echoed}, ${fmt(opened.seconds)} s, fds ${fds})  RSS ${fmt(mb(before))} → ${fmt(mb(rssOpen))} → ${fmt(mb(rssClosed))} MB` +
              ` = ${fmt(c.perSocket / 1024)} KiB/socket` +
              (inspect ? `; after forced GC: RSS ${fmt(mb(rssAfterGc))} MB, heap ${fmt(mb(row.heapStart))} → ${fmt(mb(heapOpen))} (open) → ${fmt(mb(heapClosed))} MB; open-ws gauge ${c.openWs} → ${c.openWsAfter}` : ''),
          );
          before = inspect ? rssAfterGc : rssClosed;
        } finally {
          await client.stop('SIGTERM', 2_000);
        }
      }
      const last = row.cycles.at(-1);
      row.perSocket = row.cycles[0].perSocket;
      row.heapPerSocket = inspect ? (row.cycles[0].heapOpen - row.heapStart) / Math.max(1, row.cycles[0].opened) : NaN;
      row.rssEnd = last.rssClosed;
      row.endVsStart = last.rssClosed / rssStart;
      row.endGcVsStart = inspect ? last.rssAfterGc / rssStart : NaN;
      row.heapEndVsStart = inspect ? last.heapClosed / row.heapStart : NaN;
      row.secondVsFirst = row.cycles.length > 1 ? (inspect ? row.cycles[1].heapClosed / row.cycles[0].heapClosed : row.cycles[1].rssClosed / row.cycles[0].rssClosed) : NaN;
      out.push(row);
    } finally {
      if (stack) await stack.stop();
    }
  }
  return out;
}

/** KiB of RSS (and of heap, after GC) per open socket, from the raw readings of the first cycle. */
export function idlePerSocket(r) {
  const c = r.cycles[0];
  const n = Math.max(1, c.opened);
  return { rss: (c.rssOpen - c.before) / n, heap: r.forcedGc ? (c.heapOpen - r.heapStart) / n : NaN };
}

export function wsIdleTable(rows) {
  return table(
    ['setup', 'sockets open (echo ok)', 'RSS start MB', 'RSS open MB', '**KiB / socket** (RSS)', 'heap KiB / socket', 'RSS after close + 10 s idle MB', '÷ start', 'RSS after forced GC ÷ start', 'heap after GC: start → open → closed MB (per cycle)', 'proxy fds open'],
    rows.map((r) => [
      r.label,
      `${r.cycles[0].opened} (${r.cycles[0].echoed})`,
      fmt(mb(r.rssStart)),
      fmt(mb(r.cycles[0].rssOpen)),
      fmt(idlePerSocket(r).rss / 1024),
      r.forcedGc ? fmt(idlePerSocket(r).heap / 1024) : '—',
      r.cycles.map((c) => fmt(mb(c.rssClosed))).join(' / '),
      ratio(r.endVsStart),
      r.forcedGc ? ratio(r.endGcVsStart) : '—',
      r.forcedGc ? r.cycles.map((c, i) => `${fmt(mb(i === 0 ? r.heapStart : r.cycles[i - 1].heapClosed))} → ${fmt(mb(c.heapOpen))} → ${fmt(mb(c.heapClosed))}`).join('; ') : '—',
      r.cycles[0].fdsOpen,
    ]),
  );
}
