// The Markdown report of a run, from its results.json (also re-renders an old run with today's tables):
//   node bench/lib/report.mjs bench/results/<timestamp>/results.json
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineMarkdown } from './env.mjs';
import { httpTables } from './section-http.mjs';
import { wsTables, wsIdleTable } from './section-ws.mjs';
import { routesTables } from './section-routes.mjs';
import { controlTables } from './section-control.mjs';
import { profileTable } from './section-profile.mjs';
import { targetsTable } from './targets.mjs';

export function renderReport(results) {
  const { machine, opts } = results;
  const ctx = { opts, notes: results.notes ?? [] };
  const sec = results.sections;
  const md = [
    `## Results ${machine.date.slice(0, 10)}${opts.quick ? ' (quick smoke run: 1 round, 1 s — not for comparison)' : ''}`,
    '',
    machineMarkdown(machine),
    `- **Command:** \`${results.command ?? 'node bench/run.mjs'}\``,
  ];
  if (results.load && Object.keys(results.load).length)
    md.push(`- **Machine load** (1-min load average at start → end of each part; the machine is shared): ${Object.entries(results.load).map(([k, v]) => `${k} ${v.start.toFixed(1)} → ${v.end.toFixed(1)}`).join(', ')}`);
  md.push('');
  if (results.checks?.length) md.push('### Setups checked before measuring', '', ...results.checks.map((c) => `- ${c}`), '');
  if (sec.http?.summary) md.push('### 1. Proxy HTTP: `wrk -t2 -c50 --timeout 5s` keep-alive, GET through each setup', '', httpTables(sec.http.summary, opts.rounds), '');
  if (sec.ws?.summary) md.push('### 2. Proxy WebSocket', '', wsTables(sec.ws.summary, opts.rounds), '');
  if (sec.ws?.idle?.length) {
    const n = sec.ws.idle[0].sockets;
    md.push(
      `**${n.toLocaleString('en')} idle WebSockets through each proxy** (RSS of the proxy process tree, settled = stable for 2 s; KiB/socket over the sockets actually opened; JetPlane: a fresh stack whose proxy runs with \`--inspect\` so the bench can force a full GC, two open/close cycles)`,
      '',
      wsIdleTable(sec.ws.idle),
      '',
    );
  }
  if (sec.routes && !sec.routes.error) md.push('### 3. Route table', '', routesTables(sec.routes, ctx), '');
  if (sec.control && !sec.control.error) md.push('### 4. Control plane', '', controlTables(sec.control, ctx), '');
  if (sec.profile?.small) md.push('### Profile of the JetPlane proxy under load', '', profileTable(sec.profile), '');
  const targets = targetsTable(results);
  if (targets) md.push('### Targets from the issue (this run)', '', targets, '');
  if (ctx.notes.length) md.push('### Notes', '', ...ctx.notes.map((n) => `- ${n}`), '');
  return md.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(renderReport(JSON.parse(readFileSync(process.argv[2], 'utf8'))));
}
