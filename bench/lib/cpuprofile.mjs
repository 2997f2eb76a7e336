// Self-time summary of a V8 .cpuprofile (as written by `node --cpu-prof`).
//   node bench/lib/cpuprofile.mjs FILE [N]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function shortUrl(url) {
  if (!url) return '(native)';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(REPO)) u = u.slice(REPO.length + 1);
  return u.replace(/^.*node_modules\//, 'node_modules/');
}

function areaOf(url) {
  if (!url) return 'native / V8';
  if (url.startsWith('node:')) return 'node core (' + url.slice(5).split('/')[0].replace(/^internal$/, url.slice(5).split('/')[1] ?? 'internal') + ')';
  const u = shortUrl(url);
  const m = u.match(/^node_modules\/((@[^/]+\/)?[^/]+)/);
  if (m) return `dependency ${m[1]}`;
  const j = u.match(/^(libs|apps)\/([^/]+)/);
  if (j) return `JetPlane ${j[1]}/${j[2]}`;
  return u;
}

/**
 * Self time per function. `window` = {startUs, endUs} on the monotonic clock (process.hrtime in µs,
 * the clock V8 stamps profiles with) keeps only the samples taken under load.
 */
export function summarizeCpuProfile(file, n = 15, window) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const parentOf = new Map();
  for (const x of prof.nodes) for (const c of x.children ?? []) parentOf.set(c, x.id);
  const selfUs = new Map();
  const deltas = prof.timeDeltas;
  let t = prof.startTime;
  let kept = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += deltas[i];
    if (window && (t < window.startUs || t > window.endUs)) continue;
    kept++;
    const id = prof.samples[i];
    // timeDeltas[i+1] is the time until the next sample: the time attributed to sample i.
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  // Native frames (no url) are charged, for the area table, to the nearest JS caller that has one.
  const areaUrlOf = (id) => {
    let cur = id;
    while (cur !== undefined) {
      const cf = byId.get(cur).callFrame;
      if (cf.url) return cf.url;
      cur = parentOf.get(cur);
    }
    return '';
  };
  const areaSelf = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    if (cf.functionName === '(idle)') continue;
    const a = ['(garbage collector)', '(program)'].includes(cf.functionName) ? cf.functionName : areaOf(areaUrlOf(id));
    areaSelf.set(a, (areaSelf.get(a) ?? 0) + us);
  }
  const fnSelf = new Map();
  let total = 0;
  let idle = 0;
  let gc = 0;
  let program = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const cf = node.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (cf.functionName === '(garbage collector)') gc += us;
    if (cf.functionName === '(program)') program += us;
    const key = `${cf.functionName}\u0000${cf.url}\u0000${cf.lineNumber}`;
    let cur = fnSelf.get(key);
    if (!cur) {
      cur = { functionName: cf.functionName, url: shortUrl(cf.url), rawUrl: cf.url, line: cf.lineNumber + 1, selfUs: 0, callers: new Map() };
      fnSelf.set(key, cur);
    }
    if (!cf.url) {
      // For a native frame, remember which JS function called it (by self time).
      let p = parentOf.get(id);
      while (p !== undefined && !byId.get(p).callFrame.url) p = parentOf.get(p);
      if (p !== undefined) {
        const pc = byId.get(p).callFrame;
        const ck = `${pc.functionName || '(anonymous)'} (${shortUrl(pc.url)}:${pc.lineNumber + 1})`;
        cur.callers.set(ck, (cur.callers.get(ck) ?? 0) + us);
      }
    }
    cur.selfUs += us;
  }
  const busy = total - idle;
  // Inclusive (total) time of JetPlane's own functions (libs/*, apps/*): where the lead can act.
  const incl = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    let cur = id;
    while (cur !== undefined) {
      const cf = byId.get(cur).callFrame;
      const u = shortUrl(cf.url);
      if (/^(libs|apps)\//.test(u)) {
        const k = `${cf.functionName || '(anonymous)'} (${u}:${cf.lineNumber + 1})`;
        if (!seen.has(k)) {
          seen.add(k);
          incl.set(k, (incl.get(k) ?? 0) + us);
        }
      }
      cur = parentOf.get(cur);
    }
  }
  const jetplaneInclusive = [...incl.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([fn, us]) => ({ fn, totalMs: us / 1000, totalPct: (100 * us) / busy }));
  const all = [...fnSelf.values()].sort((a, b) => b.selfUs - a.selfUs);
  const top = all.slice(0, n).map((f) => ({
    functionName: f.functionName,
    url: f.url,
    line: f.line,
    selfMs: f.selfUs / 1000,
    selfPct: (100 * f.selfUs) / busy,
    calledFrom: [...f.callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([k]) => k),
  }));
  const byArea = [...areaSelf.entries()].map(([area, us]) => ({ area, pct: (100 * us) / busy })).sort((a, b) => b.pct - a.pct).slice(0, 12);
  return { totalMs: total / 1000, busyMs: busy / 1000, samples: kept, profileStartUs: prof.startTime, profileEndUs: prof.endTime, idlePct: (100 * idle) / total, gcPct: (100 * gc) / busy, programPct: (100 * program) / busy, top, byArea, jetplaneInclusive };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const s = summarizeCpuProfile(process.argv[2], Number(process.argv[3] ?? 15));
  console.log(JSON.stringify(s, null, 1));
}
