/** WebSocket tunnelling through the real proxy server to a real local ws backend (loopback, no NATS). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { hashToken, header, startFixture, type Fixture } from './test-support/fixture.js';

const DYN = 'D'.repeat(43);
const DEAD = 'X'.repeat(43);
const DOWN = 'Z'.repeat(43);

let fx: Fixture;
const open: WebSocket[] = [];

beforeAll(async () => {
  fx = await startFixture();
  fx.addToken(DYN, { user: 'alice' });
  fx.addToken(DEAD, { backend_id: 'b3' });
  fx.addToken(DOWN, { backend_id: 'b4' });
  fx.setBackend('b1', { status: 'ready', address: `127.0.0.1:${fx.backendPort}` }, 1);
  fx.setBackend('b3', { status: 'terminated' }, 1);
  fx.setBackend('b4', { status: 'ready', address: '127.0.0.1:1' }, 1);
});

afterEach(() => {
  for (const ws of open.splice(0)) ws.terminate();
});

afterAll(() => fx.close());

/** Connect through the proxy; resolves with the backend's first message (the url and headers it saw). */
function openWs(path: string): Promise<{ ws: WebSocket; first: { url: string; headers: string[] } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${fx.proxyPort}${path}`, { headers: { 'X-Verified-Username': 'mallory' } });
    open.push(ws);
    ws.once('message', (data) => resolve({ ws, first: JSON.parse(String(data)) as { url: string; headers: string[] } }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error('unexpected response'), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  for (const start = Date.now(); !check(); ) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WebSocket tunnel', () => {
  it('upgrades with the same routing and header rules, then echoes', async () => {
    const { ws, first } = await openWs(`/${DYN}/ws?room=1`);
    expect(first.url).toBe('/ws?room=1');
    expect(header(first.headers, 'x-verified-username')).toEqual(['alice']);
    expect(header(first.headers, 'x-verified-path')).toEqual([`/${DYN}/`]);
    expect(header(first.headers, 'upgrade')).toEqual(['websocket']);
    expect(header(first.headers, 'connection')).toEqual(['upgrade']);
    const echo = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('hello');
    expect(await echo).toBe('hello');
    expect(fx.ctx.stats.openTunnels).toBe(1);
    expect(fx.ctx.table.backend('b1')!.openConnections).toBe(1);
    ws.close();
    await until(() => fx.ctx.stats.openTunnels === 0);
  });

  it('relays a message far larger than the socket buffers both ways intact (backpressure)', async () => {
    const { ws } = await openWs(`/${DYN}/ws`);
    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    const echo = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
    ws.send(big);
    expect((await echo).equals(big)).toBe(true);
  });

  it.each([
    [`/${'Q'.repeat(43)}/ws`, 404],
    [`/${DEAD}/ws`, 410],
    [`/${DOWN}/ws`, 502],
    [`/${DYN}/nows`, 403],
  ])('%s → %i', async (path, status) => {
    await expect(openWs(path)).rejects.toMatchObject({ status });
  });

  it('a revoked token closes its open websockets', async () => {
    const token = 'V'.repeat(43);
    const hash = hashToken(token);
    fx.addToken(token);
    const { ws } = await openWs(`/${token}/ws`);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    fx.ctx.table.deleteToken(hash);
    await closed;
    await until(() => fx.ctx.stats.openTunnels === 0);
    expect(fx.ctx.table.backend('b1')!.openConnections).toBe(0);
    expect(fx.ctx.tunnels.size).toBe(0);
  });
});
