// CPU and memory of process trees from /proc: utime+stime of a PID and its descendants, VmRSS.
import { readFileSync, readdirSync } from 'node:fs';
import { descendants } from './proc.mjs';

/** Clock ticks per second for /proc/<pid>/stat (getconf CLK_TCK: 100 on Linux). */
const CLK_TCK = 100;
const US_PER_TICK = 1e6 / CLK_TCK;

function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm)": [0]=state [11]=utime [12]=stime [13]=cutime [14]=cstime
    return { utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
  } catch {
    return null;
  }
}

/** Map pid -> CPU µs (utime+stime) for the given roots and all their descendants. */
export function cpuSnapshot(rootPids) {
  const snap = new Map();
  for (const root of rootPids) {
    for (const pid of [root, ...descendants(root)]) {
      const st = statOf(pid);
      if (st) snap.set(pid, (st.utime + st.stime) * US_PER_TICK);
    }
  }
  return snap;
}

/** CPU µs used between two snapshots (processes that appeared in between count from zero). */
export function cpuDelta(before, after) {
  let us = 0;
  for (const [pid, t] of after) us += t - (before.get(pid) ?? 0);
  return us;
}

/** A sampler: `const s = cpuSampler(pids); ...; s.stop()` → CPU µs used by the trees meanwhile. */
export function cpuSampler(rootPids) {
  const before = cpuSnapshot(rootPids);
  const t0 = process.hrtime.bigint();
  return {
    stop() {
      const after = cpuSnapshot(rootPids);
      const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
      const us = cpuDelta(before, after);
      return { cpuUs: us, wallUs, pct: (100 * us) / wallUs };
    },
  };
}

/** CPU µs of a finished child, from the parent's cutime+cstime (for wrappers like `bash -c`). */
export function childrenCpuUs(pid) {
  const st = statOf(pid);
  return st ? (st.cutime + st.cstime) * US_PER_TICK : null;
}

/** VmRSS in bytes of one process. */
export function rssOf(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'latin1').match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed VmRSS in bytes of a process tree. */
export function rssTree(rootPid) {
  let total = 0;
  for (const pid of [rootPid, ...descendants(rootPid)]) total += rssOf(pid);
  return total;
}

/** Number of open file descriptors of a process (sockets included). */
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}
