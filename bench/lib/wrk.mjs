// wrk runner: `wrk -t2 -c50 -dS --timeout 5s -s wrk-report.lua URL` (keep-alive), bounded in time,
// with the CPU of the watched process trees sampled from /proc around the run.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSnapshot, cpuDelta } from './cpu.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WRK_BIN = '/usr/bin/wrk';
export const WRK_LUA = path.join(here, 'wrk-report.lua');

/**
 * Run wrk once. `watch` is {label: [pids]}: CPU µs of each group (tree) during the run.
 * Returns {rps, requests, errors, lat_ms:{p50,p90,p99,p999,max}, cpu:{label:{us, usPerReq, pct}}, wrkCpuPct}.
 */
export function runWrk({ url, threads = 2, conns = 50, duration = 5, timeout = 5, watch = {}, pathsFile, cmdOut }) {
  const args = [`-t${threads}`, `-c${conns}`, `-d${duration}s`, '--timeout', `${timeout}s`, '-s', WRK_LUA, url];
  if (cmdOut) cmdOut.push(`wrk ${args.join(' ')}`);
  // bash wrapper: after wrk exits, its CPU is in the wrapper's cutime/cstime.
  const script = `${WRK_BIN} "$@"; rc=$?; read -r s < /proc/$$/stat; echo "WRKSTAT $s"; exit $rc`;
  const before = Object.fromEntries(Object.entries(watch).map(([k, pids]) => [k, cpuSnapshot(pids)]));
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', script, 'wrk-wrap', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRK_PATHS_FILE: pathsFile ?? '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), (duration + timeout + 20) * 1000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
      const cpu = {};
      for (const [k, pids] of Object.entries(watch)) {
        const us = cpuDelta(before[k], cpuSnapshot(pids));
        cpu[k] = { us, pct: (100 * us) / wallUs };
      }
      const m = out.match(/WRKJSON (\{.*\})/);
      if (!m) return reject(new Error(`wrk failed (code ${code}) for ${url}:\n${out}\n${err}`));
      const j = JSON.parse(m[1]);
      for (const k of Object.keys(cpu)) cpu[k].usPerReq = j.requests ? cpu[k].us / j.requests : NaN;
      let wrkCpuPct = NaN;
      const st = out.match(/WRKSTAT (.*)/);
      if (st) {
        const f = st[1].slice(st[1].lastIndexOf(')') + 2).split(' ');
        wrkCpuPct = (100 * ((Number(f[13]) + Number(f[14])) * 1e4)) / (j.duration_us || wallUs);
      }
      const e = j.errors;
      const non2xx = (out.match(/Non-2xx or 3xx responses: (\d+)/) ?? [])[1];
      resolve({
        url,
        rps: j.requests / (j.duration_us / 1e6),
        requests: j.requests,
        bytes: j.bytes,
        errors: e.connect + e.read + e.write + e.status + e.timeout,
        errorDetail: { ...e, non2xx: Number(non2xx ?? 0) },
        lat_ms: Object.fromEntries(Object.entries(j.lat_us).map(([k, v]) => [k, v / 1000])),
        cpu,
        wrkCpuPct,
      });
    });
  });
}
