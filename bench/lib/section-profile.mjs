// Profile of the JetPlane proxy under load: a stack whose proxy runs under `node --cpu-prof`, wrk on
// the 100 B body then on the 64 KiB body, SIGTERM (the profile is written at exit), and a self-time
// summary of the samples taken during each load window only (startup and idle excluded).
import { readdirSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { runWrk } from './wrk.mjs';
import { startStack, proxySetupFromStack } from './jetplane.mjs';
import { summarizeCpuProfile } from './cpuprofile.mjs';
import { fmt, table } from './stats.mjs';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export async function runProfile(ctx) {
  const { opts, log } = ctx;
  const dir = path.join(ctx.resultsDir, 'cpuprofile');
  mkdirSync(dir, { recursive: true });
  const duration = opts.quick ? 2 : Math.max(10, Math.round(opts.duration));
  const stack = await startStack(ctx, { name: 'prof', proxyNodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'] });
  const out = { windows: {}, load: {} };
  try {
    const setup = await proxySetupFromStack(ctx, stack);
    await runWrk({ url: `${setup.base}/small`, duration: 2 }); // JIT warm-up, not in the window
    for (const size of ['small', 'big']) {
      const startUs = nowUs();
      const r = await runWrk({ url: `${setup.base}/${size}`, duration, watch: { proxy: [setup.proxyPid] } });
      // Trim 0.3 s at both ends: wrk connecting and draining.
      out.windows[size] = { startUs: startUs + 300_000, endUs: nowUs() - 300_000 };
      out.load[size] = { rps: r.rps, usPerReq: r.cpu.proxy.usPerReq, seconds: duration };
      log(`profile: ${size} ${fmt(r.rps)} req/s, ${fmt(r.cpu.proxy.usPerReq)} µs/req with the profiler on`);
    }
  } finally {
    await stack.stop();
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) throw new Error(`no .cpuprofile written in ${dir} (did the proxy exit cleanly on SIGTERM?)`);
  out.file = path.join(dir, files[0]);
  out.small = summarizeCpuProfile(out.file, 15, out.windows.small);
  out.big = summarizeCpuProfile(out.file, 15, out.windows.big);
  return out;
}

function one(s, load, title) {
  const rows = s.top.map((f, i) => [
    i + 1,
    `\`${f.functionName || '(anonymous)'}\``,
    f.url === '(native)' ? `native${f.calledFrom.length ? `, from ${f.calledFrom.map((c) => `\`${c}\``).join(' / ')}` : ''}` : `${f.url}:${f.line}`,
    fmt(f.selfMs),
    `${fmt(f.selfPct)} %`,
  ]);
  return [
    `**${title}**: ${fmt(load.rps)} req/s for ${load.seconds} s, ${fmt(load.usPerReq)} µs/req with the profiler on; ${s.samples} samples in the window, ` +
      `proxy idle ${fmt(s.idlePct)} % of it; GC ${fmt(s.gcPct)} % and (program) ${fmt(s.programPct)} % of busy time.`,
    '',
    table(['#', 'function (self time)', 'where', 'self ms', '% of busy'], rows, ['---:', '---', '---', '---:', '---:']),
    '',
    'By area (native frames charged to their nearest JS caller):',
    '',
    table(['area', '% of busy'], s.byArea.map((a) => [a.area, `${fmt(a.pct)} %`])),
    '',
    "JetPlane's own functions by inclusive (total) time:",
    '',
    table(['function', 'total ms', '% of busy'], s.jetplaneInclusive.map((f) => [`\`${f.fn}\``, fmt(f.totalMs), `${fmt(f.totalPct)} %`]), ['---', '---:', '---:']),
  ].join('\n');
}

export function profileTable(p) {
  return [
    `\`node --cpu-prof\` on \`jetplane proxy\`, wrk -t2 -c50 keep-alive, real token; only samples inside each load window. Raw profile: \`${path.relative(path.resolve(p.file, '..', '..', '..', '..'), p.file)}\` (open in Chrome DevTools).`,
    '',
    one(p.small, p.load.small, '100 B body'),
    '',
    one(p.big, p.load.big, '64 KiB body'),
  ].join('\n');
}
