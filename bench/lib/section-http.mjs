// Part 1 – proxy HTTP: GET 100 B and 64 KiB, keep-alive, wrk -t2 -c50, interleaved rounds with a
// rotating start, medians, paired ratios, proxy CPU µs/request from /proc.
import { runWrk } from './wrk.mjs';
import { median, minMax, pairedRatio, fmt, ratio, table } from './stats.mjs';

export const SIZES = { small: '100 B', big: '64 KiB' };

export async function runHttp(ctx, setups) {
  const { opts, log } = ctx;
  const sizes = Object.keys(SIZES);
  const cases = [];
  for (const s of setups) for (const size of sizes) cases.push({ s, size });
  const watchOf = (s) => ({ proxy: s.proxyPid ? [s.proxyPid] : [], backend: [s.backendPid] });
  const runs = [];
  const commands = [];

  if (opts.warmup > 0) {
    // wrk takes whole seconds; a quick run warms each setup once, on the small body.
    const w = Math.max(1, Math.round(opts.warmup));
    const warm = opts.quick ? cases.filter((c) => c.size === 'small') : cases;
    log(`http: warm-up ${w}s per ${opts.quick ? 'setup' : 'setup × size'}`);
    for (const { s, size } of warm) await runWrk({ url: `${s.base}/${size}`, duration: w, watch: {} });
  }
  for (let r = 0; r < opts.rounds; r++) {
    // Rotate the starting setup each round.
    const shift = (r * sizes.length) % cases.length;
    const order = [...cases.slice(shift), ...cases.slice(0, shift)];
    for (const { s, size } of order) {
      const res = await runWrk({ url: `${s.base}/${size}`, duration: Math.max(1, Math.round(opts.duration)), watch: watchOf(s), cmdOut: r === 0 ? commands : undefined });
      runs.push({ round: r, setup: s.name, size, ...res });
      log(
        `http r${r} ${s.name.padEnd(8)} ${size.padEnd(5)} ${fmt(res.rps).padStart(6)} req/s  p50 ${fmt(res.lat_ms.p50)} ms  p99 ${fmt(res.lat_ms.p99)} ms  ` +
          `proxy ${s.proxyPid ? `${fmt(res.cpu.proxy.usPerReq)} µs/req (${fmt(res.cpu.proxy.pct)} %)` : '—'}  wrk ${fmt(res.wrkCpuPct)} %  err ${res.errors}`,
      );
    }
  }
  return { runs, summary: summarizeHttp(runs, setups, opts.rounds), commands: [...new Set(commands.map((c) => c.replace(/http:\/\/\S+/, 'URL')))] };
}

export function summarizeHttp(runs, setups, rounds) {
  const out = {};
  for (const size of Object.keys(SIZES)) {
    const series = (name, f) => {
      const v = new Array(rounds).fill(NaN);
      for (const r of runs) if (r.setup === name && r.size === size) v[r.round] = f(r);
      return v;
    };
    const rps = Object.fromEntries(setups.map((s) => [s.name, series(s.name, (r) => r.rps)]));
    out[size] = setups.map((s) => {
      const v = rps[s.name];
      const [lo, hi] = minMax(v);
      return {
        setup: s.name,
        label: s.label,
        rps: median(v),
        rpsMin: lo,
        rpsMax: hi,
        p50: median(series(s.name, (r) => r.lat_ms.p50)),
        p99: median(series(s.name, (r) => r.lat_ms.p99)),
        vsNginx: rps.nginx ? pairedRatio(v, rps.nginx) : NaN,
        vsChp: rps.chp ? pairedRatio(v, rps.chp) : NaN,
        vsNode: rps.node ? pairedRatio(v, rps.node) : NaN,
        proxyUsPerReq: s.proxyPid ? median(series(s.name, (r) => r.cpu.proxy.usPerReq)) : NaN,
        proxyPct: s.proxyPid ? median(series(s.name, (r) => r.cpu.proxy.pct)) : NaN,
        backendUsPerReq: median(series(s.name, (r) => r.cpu.backend.usPerReq)),
        wrkPct: median(series(s.name, (r) => r.wrkCpuPct)),
        errors: series(s.name, (r) => r.errors).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0),
      };
    });
  }
  return out;
}

export function httpTables(summary, rounds) {
  const parts = [];
  for (const [size, rows] of Object.entries(summary)) {
    parts.push(`**${SIZES[size]} body** (median of ${rounds} round${rounds > 1 ? 's' : ''}; req/s min–max in brackets; ratios are paired per round)\n`);
    parts.push(
      table(
        ['setup', 'req/s', 'p50 ms', 'p99 ms', '÷ nginx', '÷ CHP', '÷ node', 'proxy CPU µs/req', 'proxy CPU %', 'backend µs/req', 'wrk CPU %', 'errors'],
        rows.map((r) => [
          r.label,
          `${fmt(r.rps)} (${fmt(r.rpsMin)}–${fmt(r.rpsMax)})`,
          fmt(r.p50),
          fmt(r.p99),
          ratio(r.vsNginx),
          ratio(r.vsChp),
          ratio(r.vsNode),
          r.setup === 'jetplane' ? `**${fmt(r.proxyUsPerReq)}**` : fmt(r.proxyUsPerReq),
          fmt(r.proxyPct),
          fmt(r.backendUsPerReq),
          fmt(r.wrkPct),
          r.errors,
        ]),
      ),
    );
    parts.push('');
  }
  return parts.join('\n');
}
