// Part 3 – route table: proxy RSS with N live tokens, and the lookup cost per request (proxy CPU
// µs/req) with 100 vs N tokens, measured on two proxies side by side in interleaved rounds; wrk
// rotates over many tokens (WRK_PATHS_FILE) so lookups do not all hit one entry.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { runWrk } from './wrk.mjs';
import { rssTree } from './cpu.mjs';
import { sleep } from './proc.mjs';
import { median, fmt, ratio, table, mb } from './stats.mjs';
import { startBackend, startNodeProxy } from './setups.mjs';
import { startStack, issueTokens, waitProxyRoutes } from './jetplane.mjs';

/** Same derivation as node-proxy.mjs --fake-routes with --fake-seed: token i of a seed. */
export function fakeToken(seed, i) {
  return crypto.createHash('sha256').update(`${seed}-${i}`).digest('base64url');
}

/** Wait until RSS of the tree stops growing (stable to 1 MB for 3 s) or maxMs. */
async function settle(pid, maxMs) {
  let last = rssTree(pid);
  let stable = 0;
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && stable < 6) {
    await sleep(500);
    const now = rssTree(pid);
    stable = Math.abs(now - last) < 1 << 20 ? stable + 1 : 0;
    last = now;
  }
  return last;
}

function pathsFile(ctx, name, tokens, max = 10_000) {
  const pick = tokens.length <= max ? tokens : Array.from({ length: max }, (_, i) => tokens[Math.floor((i * tokens.length) / max)]);
  const f = path.join(ctx.resultsDir, `paths-${name}.txt`);
  writeFileSync(f, pick.map((t) => `/${t}/small`).join('\n') + '\n');
  return { file: f, rotating: pick.length };
}

async function measurePair(ctx, variants) {
  const { opts, log } = ctx;
  const runs = [];
  if (opts.warmup > 0) for (const v of variants) await runWrk({ url: v.url, duration: Math.max(1, Math.round(opts.warmup)), pathsFile: v.paths.file });
  for (let r = 0; r < opts.rounds; r++) {
    const shift = r % variants.length;
    const order = [...variants.slice(shift), ...variants.slice(0, shift)];
    for (const v of order) {
      const res = await runWrk({ url: v.url, duration: Math.max(1, Math.round(opts.duration)), watch: { proxy: [v.pid] }, pathsFile: v.paths.file });
      runs.push({ round: r, variant: v.name, rps: res.rps, usPerReq: res.cpu.proxy.usPerReq, p50: res.lat_ms.p50, p99: res.lat_ms.p99, errors: res.errors, non2xx: res.errorDetail.non2xx });
      log(`routes r${r} ${v.name.padEnd(22)} ${fmt(res.rps).padStart(6)} req/s  proxy ${fmt(res.cpu.proxy.usPerReq)} µs/req  p99 ${fmt(res.lat_ms.p99)} ms  err ${res.errors}`);
    }
  }
  return runs;
}

function summarize(variants, runs) {
  return variants.map((v) => {
    const mine = runs.filter((x) => x.variant === v.name);
    return {
      name: v.name,
      label: v.label,
      tokens: v.tokens,
      rotating: v.paths.rotating,
      pid: v.pid,
      rssIdle: v.rssIdle,
      rssAfterLoad: v.rssAfterLoad,
      rps: median(mine.map((x) => x.rps)),
      usPerReq: median(mine.map((x) => x.usPerReq)),
      p99: median(mine.map((x) => x.p99)),
      errors: mine.reduce((a, x) => a + x.errors, 0),
      loadSeconds: v.loadSeconds,
    };
  });
}

export async function runRoutes(ctx, { jetplane }) {
  const { opts, log } = ctx;
  const N = opts.tokens;
  const out = { tokens: N };

  // Reference: the Node baseline with 100 vs N routes held in a Map (same token and auth shapes).
  {
    const backend = await startBackend(ctx.logDir, 'routes-backend');
    const variants = [];
    try {
      for (const [name, count] of [
        ['node-100', 100],
        [`node-${N}`, N],
      ]) {
        const seed = name;
        const t0 = Date.now();
        const p = await startNodeProxy(ctx.logDir, backend.port, ['--fake-routes', String(count), '--fake-seed', seed, '--fake-target', `127.0.0.1:${backend.port}`], name);
        const tokens = Array.from({ length: count }, (_, i) => fakeToken(seed, i));
        const base = { tokens: count, pid: p.pid, url: `http://127.0.0.1:${p.port}`, stop: p.stop, loadSeconds: (Date.now() - t0) / 1000 };
        variants.push({ ...base, name: `${name}/100`, label: `node baseline, ${count.toLocaleString('en')} routes`, paths: pathsFile(ctx, `${name}-100`, tokens.slice(0, 100)) });
        if (count > 100) variants.push({ ...base, name: `${name}/wide`, label: `node baseline, ${count.toLocaleString('en')} routes`, paths: pathsFile(ctx, `${name}-wide`, tokens), stop: async () => {} });
      }
      for (const v of variants) v.rssIdle = await settle(v.pid, 10_000);
      const runs = await measurePair(ctx, variants);
      for (const v of variants) v.rssAfterLoad = rssTree(v.pid);
      out.node = { runs, summary: summarize(variants, runs) };
    } finally {
      for (const v of variants) await v.stop();
      await backend.stop();
    }
  }

  if (jetplane) {
    // Two independent stacks (own nats-server each): one proxy sees 100 live tokens, the other N.
    const stacks = [];
    const variants = [];
    try {
      for (const [name, count] of [
        ['jetplane-100', 100],
        [`jetplane-${N}`, N],
      ]) {
        log(`routes: stack ${name}`);
        const stack = await startStack(ctx, { name });
        stacks.push(stack);
        const conn = await stack.connectBench();
        const t0 = Date.now();
        const tokens = [conn.token, ...(await issueTokens(ctx, stack, conn.backend_id, count - 1))];
        const loaded = await waitProxyRoutes(ctx, stack, count);
        const loadSeconds = (Date.now() - t0) / 1000;
        log(`routes: ${name}: ${count} tokens in KV and ${loaded.note} after ${fmt(loadSeconds)} s`);
        const base = { tokens: count, pid: stack.proxy.pid, url: `http://127.0.0.1:${stack.proxyPort}`, loadSeconds, routeNote: loaded.note };
        variants.push({ ...base, name: `${name}/100`, label: `**JetPlane proxy**, ${count.toLocaleString('en')} live tokens`, paths: pathsFile(ctx, `${name}-100`, tokens.slice(0, 100)) });
        if (count > 100) variants.push({ ...base, name: `${name}/wide`, label: `**JetPlane proxy**, ${count.toLocaleString('en')} live tokens`, paths: pathsFile(ctx, `${name}-wide`, tokens) });
      }
      for (const v of variants) v.rssIdle = await settle(v.pid, 15_000);
      const runs = await measurePair(ctx, variants);
      for (const v of variants) v.rssAfterLoad = rssTree(v.pid);
      out.jetplane = { runs, summary: summarize(variants, runs), notes: [...new Set(variants.map((v) => `${v.name.split('/')[0]}: ${v.routeNote}`))] };
    } finally {
      for (const s of stacks.reverse()) await s.stop();
    }
  }
  return out;
}

export function routesTables(out, ctx) {
  const parts = [];
  for (const key of ['jetplane', 'node']) {
    const r = out[key];
    if (!r) continue;
    const [a, b, w] = r.summary; // small table / 100 rotating; big table / 100 rotating; big table / wide rotation
    parts.push(
      table(
        ['proxy', 'tokens in table', 'wrk rotates over', 'RSS idle MB', 'RSS after load MB', 'req/s', 'proxy CPU µs/req', 'p99 ms', 'errors'],
        r.summary.map((x) => [x.label, x.tokens.toLocaleString('en'), `${x.rotating.toLocaleString('en')} tokens`, fmt(mb(x.rssIdle)), fmt(mb(x.rssAfterLoad)), fmt(x.rps), fmt(x.usPerReq), fmt(x.p99), x.errors]),
      ),
    );
    parts.push('');
    const who = key === 'jetplane' ? 'JetPlane' : 'Node baseline';
    parts.push(
      `${who}: ${b.tokens.toLocaleString('en')} tokens: RSS idle **${fmt(mb(b.rssIdle))} MB**, ${fmt(mb(b.rssIdle - a.rssIdle))} MB more than with ${a.tokens} ` +
        `(${fmt((b.rssIdle - a.rssIdle) / (b.tokens - a.tokens))} B/token). Lookup cost, same 100 tokens requested: ${b.tokens.toLocaleString('en')} ÷ ${a.tokens} tokens in the table = **${ratio(b.usPerReq / a.usPerReq)}** CPU µs/req; ` +
        (w ? `requests spread over ${w.rotating.toLocaleString('en')} tokens instead of 100 (same table) = **${ratio(w.usPerReq / b.usPerReq)}**. ` : '') +
        `Medians of ${ctx.opts.rounds} interleaved rounds.` +
        (r.notes ? ` Routes loaded: ${r.notes.join('; ')}.` : ''),
    );
    parts.push('');
  }
  return parts.join('\n');
}
