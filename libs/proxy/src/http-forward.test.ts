/** HTTP forwarding through the real proxy server to a real local backend (loopback, no NATS). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { CLUSTER, hashToken, header, send, startFixture, type Fixture } from './test-support/fixture.js';

const DYN = 'D'.repeat(43);
const STATIC = 's.' + 'S'.repeat(43);
const PENDING = 'P'.repeat(43);
const DEAD = 'X'.repeat(43);
const DOWN = 'Z'.repeat(43);

let fx: Fixture;
const get = (path: string, opts?: Parameters<typeof send>[2]) => send(fx.proxyPort, path, opts);
const json = (body: Buffer) => JSON.parse(body.toString()) as { method: string; url: string; headers: string[]; length: number; sha: string };

beforeAll(async () => {
  fx = await startFixture(150);
  fx.addToken(DYN, { user: 'alice', auth: { role: 'admin' }, secret_token: 'sek' });
  fx.addToken(STATIC, { user: null, auth: null, secret_token: '', static: true });
  fx.addToken(PENDING, { backend_id: 'b2' });
  fx.addToken(DEAD, { backend_id: 'b3' });
  fx.addToken(DOWN, { backend_id: 'b4' });
  fx.setBackend('b1', { status: 'ready', address: `127.0.0.1:${fx.backendPort}` }, 1);
  fx.setBackend('b2', { status: 'starting' }, 1);
  fx.setBackend('b3', { status: 'terminated' }, 1);
  fx.setBackend('b4', { status: 'ready', address: '127.0.0.1:1' }, 1);
});

afterAll(() => fx.close());

describe('HTTP forwarding', () => {
  it('strips the token, sets the verified headers, drops spoofed ones, keeps Host', async () => {
    const r = await get(`/${DYN}/echo?x=1`, { headers: ['Host', CLUSTER, 'X-Verified-Username', 'mallory', 'x-verified-secret', 'guess', 'X-Forwarded-For', '9.9.9.9'] });
    expect(r.status).toBe(200);
    const seen = json(r.body);
    expect(seen.url).toBe('/echo?x=1');
    expect(header(seen.headers, 'host')).toEqual([CLUSTER]);
    expect(header(seen.headers, 'x-verified-username')).toEqual(['alice']);
    expect(header(seen.headers, 'x-verified-secret')).toEqual(['sek']);
    expect(header(seen.headers, 'x-verified-user-data')).toEqual(['{"role":"admin"}']);
    expect(header(seen.headers, 'x-verified-backend')).toEqual(['b1']);
    expect(header(seen.headers, 'x-verified-path')).toEqual([`/${DYN}/`]);
    expect(header(seen.headers, 'x-forwarded-for')).toEqual(['9.9.9.9, 127.0.0.1']);
    expect(header(seen.headers, 'x-forwarded-proto')).toEqual(['http']);
  });

  it('forwards static-token paths unchanged, with null user data and an empty secret', async () => {
    const seen = json((await get(`/${STATIC}/a/b?q`)).body);
    expect(seen.url).toBe(`/${STATIC}/a/b?q`);
    expect(header(seen.headers, 'x-verified-user-data')).toEqual(['null']);
    expect(header(seen.headers, 'x-verified-secret')).toEqual(['']);
    expect(header(seen.headers, 'x-verified-username')).toEqual([]);
  });

  it('`/<token>` alone forwards `/`', async () => {
    expect(json((await get(`/${DYN}`)).body).url).toBe('/');
  });

  it('streams a chunked request body through', async () => {
    const body = Buffer.alloc(1024 * 1024 + 17, 7);
    const r = await get(`/${DYN}/upload`, { method: 'POST', body, headers: ['Host', CLUSTER, 'Transfer-Encoding', 'chunked'] });
    expect(json(r.body)).toMatchObject({ method: 'POST', length: body.length, sha: createHash('sha256').update(body).digest('hex') });
  });

  it('streams a large response body intact', async () => {
    const n = 5 * 1024 * 1024 + 3;
    const r = await get(`/${DYN}/big?n=${n}`);
    expect(r.status).toBe(200);
    expect(header(r.rawHeaders, 'content-length')).toEqual([String(n)]);
    expect(r.body.length).toBe(n);
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await get(`/${DYN}/big?n=1000`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(header(r.rawHeaders, 'content-length')).toEqual(['1000']);
    expect(r.body.length).toBe(0);
  });

  it('drops hop-by-hop response headers and keeps repeated ones', async () => {
    const r = await get(`/${DYN}/h`);
    expect(header(r.rawHeaders, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(header(r.rawHeaders, 'x-private')).toEqual([]);
    expect(header(r.rawHeaders, 'keep-alive')).not.toContain('timeout=5');
  });

  it.each([
    [`/${'Q'.repeat(43)}/x`, 404],
    ['/not-a-token/x', 404],
    ['/', 404],
    [`/${DEAD}/x`, 410],
    [`/${PENDING}/x`, 503],
    [`/${DOWN}/x`, 502],
  ])('%s → %i with a short body and no details', async (path, status) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    const body = r.body.toString();
    expect(body.length).toBeLessThan(80);
    expect(body).not.toContain('127.0.0.1');
    expect(body).not.toMatch(/[A-Z]{43}/);
    if (status === 404) expect(body).toBe('Unknown or revoked connection token.\n');
  });

  it('holds a request until the backend is ready', async () => {
    const token = 'W'.repeat(43);
    fx.addToken(token, { backend_id: 'b5' });
    fx.setBackend('b5', { status: 'waiting' }, 1);
    setTimeout(() => fx.setBackend('b5', { status: 'ready', address: `127.0.0.1:${fx.backendPort}` }, 2), 40);
    const r = await get(`/${token}/late`);
    expect(r.status).toBe(200);
    expect(json(r.body).url).toBe('/late');
  });
});

/** Open `/stream` through the proxy; `onFirstData` runs on the first chunk; resolves with how it ended. */
function stream(path: string, onFirstData: (destroy: () => void) => void): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: fx.proxyPort, path, agent: false }, (res) => {
      res.once('data', () => onFirstData(() => req.destroy()));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('aborted'));
      res.on('end', () => resolve('end'));
    });
    req.on('error', () => resolve('error'));
    req.on('close', () => resolve('closed'));
    req.end();
  });
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  for (const start = Date.now(); !check(); ) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('connection lifetimes', () => {
  it('a client going away aborts the upstream request', async () => {
    await stream(`/${DYN}/stream-client-gone`, (destroy) => destroy());
    await until(() => fx.closedStreams.includes('/stream-client-gone'));
    expect(fx.ctx.table.route(hashToken(DYN))!.open?.size ?? 0).toBe(0);
  });

  it('a revoked token loses its route and its open responses', async () => {
    const token = 'R'.repeat(43);
    const hash = hashToken(token);
    fx.addToken(token);
    const ended = await stream(`/${token}/stream-revoked`, () => fx.ctx.table.deleteToken(hash));
    expect(ended).not.toBe('end');
    await until(() => fx.closedStreams.includes('/stream-revoked'));
    expect((await get(`/${token}/x`)).status).toBe(404);
  });

  it('counts activity per backend', () => {
    expect(fx.ctx.table.drainActivity()).toContain('b1');
    expect(fx.ctx.stats.responses[1]).toBeGreaterThan(0); // 2xx
  });
});
