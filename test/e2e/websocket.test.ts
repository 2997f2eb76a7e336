/**
 * WebSocket upgrades through the proxy: the backend sees the verified headers (and none of the
 * spoofed ones) on the upgrade request, and frames flow both ways (contract §5).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { randomString } from '@jetplane/protocol';
import { startJetPlane, stopAllProcesses, uniqueName, withTimeout, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await jp?.teardown();
  await stopAllProcesses();
});

/** A client socket whose messages are queued, so a test can await them one by one. */
interface QueuedSocket {
  ws: WebSocket;
  next(timeoutMs?: number): Promise<string>;
  closed: Promise<{ code: number }>;
}

function openSocket(url: string, headers: Record<string, string>): Promise<QueuedSocket> {
  const ws = new WebSocket(url, { headers, handshakeTimeout: 10_000 });
  sockets.push(ws);
  const queue: string[] = [];
  const waiting: Array<(m: string) => void> = [];
  ws.on('message', (data: WebSocket.RawData) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const w = waiting.shift();
    if (w) w(text);
    else queue.push(text);
  });
  const closed = new Promise<{ code: number }>((resolve) => ws.once('close', (code) => resolve({ code })));
  return new Promise((resolve, reject) => {
    ws.once('open', () =>
      resolve({
        ws,
        closed,
        next(timeoutMs = 10_000) {
          const queued = queue.shift();
          if (queued !== undefined) return Promise.resolve(queued);
          return withTimeout(new Promise<string>((r) => waiting.push(r)), timeoutMs, 'a WebSocket message');
        },
      }),
    );
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once('error', reject);
  });
}

/** Find the headers object in the echo backend's hello, whatever it is wrapped in. */
function helloHeaders(hello: string): Record<string, string> {
  const parsed = JSON.parse(hello) as Record<string, unknown>;
  const headers = (parsed.headers ?? (parsed.hello as Record<string, unknown> | undefined)?.headers) as Record<string, string> | undefined;
  if (!headers || typeof headers !== 'object') throw new Error(`hello without headers: ${hello}`);
  return headers;
}

describe('WebSocket through the proxy', () => {
  it('upgrades /<token>/ws, strips spoofed x-verified-* headers, sets the verified ones, and echoes frames both ways', async () => {
    const auth = { ws: true };
    const c = await jp.spawnReady({ key: { name: uniqueName('ws') }, spawn_config: jp.spawnConfig(), user: 'wsuser', auth });
    const sock = await openSocket(`ws://127.0.0.1:${jp.proxyPort}/${c.token}/ws`, {
      Host: jp.cluster,
      'X-Verified-Username': 'mallory',
      'x-VERIFIED-evil': 'spoofed',
      'X-Verified-Secret': 'spoofed-secret',
    });

    const headers = helloHeaders(await sock.next());
    expect(headers['x-verified-username']).toBe('wsuser');
    expect(JSON.parse(String(headers['x-verified-user-data']))).toEqual(auth);
    expect(headers['x-verified-secret']).toBe(c.secret_token);
    expect(headers['x-verified-backend']).toBe(c.backend_id);
    expect(headers['x-verified-path']).toBe(`/${c.token}/`);
    expect(headers['x-verified-evil']).toBeUndefined();
    expect(String(headers['x-forwarded-for'])).toContain('127.0.0.1');

    for (let i = 0; i < 3; i++) {
      const text = `ping-${i}-${randomString(8)}`;
      sock.ws.send(text);
      expect(await sock.next()).toContain(text);
    }
    // A larger frame survives the tunnel intact.
    const big = `big-${'x'.repeat(200_000)}`;
    sock.ws.send(big);
    expect(await sock.next()).toContain(big);

    sock.ws.close(1000, 'done');
    expect((await withTimeout(sock.closed, 10_000, 'close handshake')).code).toBe(1000);
  });

  it('refuses the upgrade with 404 for an unknown token', async () => {
    await expect(openSocket(`ws://127.0.0.1:${jp.proxyPort}/${'Z'.repeat(43)}/ws`, { Host: jp.cluster })).rejects.toMatchObject({ statusCode: 404 });
  });

  it('closes open WebSockets when the backend is terminated', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('wsterm') }, spawn_config: jp.spawnConfig() });
    const sock = await openSocket(`ws://127.0.0.1:${jp.proxyPort}/${c.token}/ws`, { Host: jp.cluster });
    await sock.next();
    const res = await jp.terminate(c.backend_id, 'hard');
    expect(res.status, res.body).toBe(200);
    await withTimeout(sock.closed, 15_000, 'the proxied WebSocket to close after hard-terminate');
  });
});
