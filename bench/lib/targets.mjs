// The targets, checked against this run's medians. Benchmarks are not tests: this is a report.
import { fmt, ratio, table, mb } from './stats.mjs';
import { idlePerSocket } from './section-ws.mjs';

export function targetRows(results) {
  const rows = [];
  const add = (target, value, ok, note = '') => rows.push([target, value, ok === undefined ? '—' : ok ? 'met' : '**not met**', note]);
  const http = results.sections.http?.summary;
  const jpS = http?.small?.find((r) => r.setup === 'jetplane');
  const jpB = http?.big?.find((r) => r.setup === 'jetplane');
  if (jpS) {
    add('proxy CPU ≤ 75 µs/request, 100 B', `${fmt(jpS.proxyUsPerReq)} µs`, jpS.proxyUsPerReq <= 75);
    add('≥ 3× CHP req/s, 100 B', ratio(jpS.vsChp), jpS.vsChp >= 3);
    add('≥ 0.5× nginx req/s, 100 B', ratio(jpS.vsNginx), jpS.vsNginx >= 0.5);
  }
  if (jpB) add('proxy CPU ≤ 170 µs/request, 64 KiB', `${fmt(jpB.proxyUsPerReq)} µs`, jpB.proxyUsPerReq <= 170);
  const ws = results.sections.ws;
  const ws50 = ws?.summary?.[50]?.find((r) => r.setup === 'jetplane');
  if (ws50) add('WebSocket round trips ≥ nginx at 50 sockets', ratio(ws50.vsNginx), ws50.vsNginx >= 1, `${fmt(ws50.rate)} rt/s, ${fmt(ws50.proxyUsPerRt)} µs/rt`);
  const idle = ws?.idle?.find((r) => r.setup === 'jetplane');
  if (idle) {
    const per = idlePerSocket(idle).rss / 1024;
    add(`≤ 10 KiB per idle WebSocket (${idle.cycles[0].opened.toLocaleString('en')} sockets)`, `${fmt(per)} KiB`, per <= 10, idle.forcedGc ? `heap after GC: ${fmt(idlePerSocket(idle).heap / 1024)} KiB/socket` : '');
    add('no leak: RSS back within 10 % of start after closing them (10 s idle)', `${ratio(idle.endVsStart)} of start`, idle.endVsStart <= 1.1, `after ${idle.cycles.length} open/close cycles`);
    if (idle.forcedGc)
      add('… the same after a forced full GC (inspector)', `RSS ${ratio(idle.endGcVsStart)}, heap ${ratio(idle.heapEndVsStart)} of start`, idle.endGcVsStart <= 1.1, `heap after GC, 2nd cycle ÷ 1st: ${ratio(idle.secondVsFirst)}`);
  }
  const rt = results.sections.routes?.jetplane?.summary;
  if (rt) {
    const [a, b] = rt;
    add(`${b.tokens.toLocaleString('en')} tokens ≤ 100 MB (proxy RSS)`, `${fmt(mb(b.rssIdle))} MB total, +${fmt(mb(b.rssIdle - a.rssIdle))} MB over ${a.tokens} tokens`, mb(b.rssIdle) <= 100, mb(b.rssIdle - a.rssIdle) <= 100 ? 'the increment alone is within 100 MB' : '');
    const r = b.usPerReq / a.usPerReq;
    add(`lookup cost unchanged ±10 %, 100 vs ${b.tokens.toLocaleString('en')} tokens`, ratio(r), r >= 0.9 && r <= 1.1, rt[2] ? `spread over ${rt[2].rotating.toLocaleString('en')} tokens: ${ratio(rt[2].usPerReq / b.usPerReq)} of 100` : '');
  }
  const c = results.sections.control;
  if (c?.runs) {
    const med = (xs) => {
      const v = xs.filter(Number.isFinite).sort((x, y) => x - y);
      return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
    };
    const floor1 = med(c.runs.filter((x) => x.kind === 'floor' && x.c === 1).map((x) => x.connect3.p50));
    for (const via of ['http', 'nats']) {
      const p50 = med(c.runs.filter((x) => x.kind === 'connect' && x.tag === 'small' && x.via === via && x.c === 1).map((x) => x.p50));
      add(`connect p50 ≤ 3× NATS floor (${via === 'http' ? 'HTTP' : 'NATS'}, c1)`, `${fmt(p50)} ms = ${ratio(p50 / floor1)} of ${fmt(floor1)} ms`, p50 / floor1 <= 3, 'floor = KV create + KV put + JS publish');
    }
    for (const via of ['http', 'nats']) {
      const rate = med(c.runs.filter((x) => x.kind === 'connect' && x.tag === 'small' && x.via === via && x.c === 32).map((x) => x.rate));
      add(`≥ 2,000 connects/s at c32 (${via === 'http' ? 'HTTP' : 'NATS'})`, fmt(rate), rate >= 2000);
    }
    const big = c.live.large;
    const p50s = med(c.runs.filter((x) => x.kind === 'connect' && x.tag === 'small' && x.via === 'http' && x.c === 1).map((x) => x.p50));
    const p50l = med(c.runs.filter((x) => x.kind === 'connect' && x.tag === 'large' && x.via === 'http' && x.c === 1).map((x) => x.p50));
    add(`connect latency, ${big.ready.toLocaleString('en')} vs ${c.live.small.ready} live backends (HTTP c1 p50)`, ratio(p50l / p50s), undefined, big.ready < big.target ? `only ${big.ready} of ${big.target} reached` : '');
    if (c.spawn) add('spawn overhead p50 ≤ 50 ms', `${fmt(c.spawn.overheadP50)} ms`, c.spawn.overheadP50 <= 50, `connect→ready ${fmt(c.spawn.readyP50)} ms − own start ${fmt(c.spawn.directP50)} ms`);
    const pairs = c.pairs?.find((p) => p.conc === 32) ?? c.pairs?.at(-1);
    if (pairs) add(`0 failed first requests in ${pairs.count.toLocaleString('en')} connect-then-request pairs`, `${pairs.failures} failed`, pairs.failures === 0, `answer → first byte p50 ${fmt(pairs.firstByte.p50)} ms at c${pairs.conc}`);
  }
  return rows;
}

export function targetsTable(results) {
  const rows = targetRows(results);
  if (!rows.length) return '';
  return table(['target (issue)', 'this run', 'verdict', 'note'], rows, ['---', '---:', '---', '---']);
}
