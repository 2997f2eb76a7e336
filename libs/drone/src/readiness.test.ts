import { afterEach, describe, expect, it } from 'vitest';
import { ProbeNudge, parseAddress, probeOnce, waitUntilReady } from './readiness.js';
import { tcpServer } from './fakes.fixture.js';
import { freePort } from './executors/free-port.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(reply: string | null) {
  const s = await tcpServer(reply);
  servers.push(s);
  return s;
}

describe('probeOnce', () => {
  it('succeeds when the server answers HTTP (any status)', async () => {
    const s = await server('HTTP/1.1 503 Service Unavailable\r\n\r\n');
    expect(await probeOnce('127.0.0.1', s.port)).toBe(true);
  });

  it('fails when the server answers something else', async () => {
    const s = await server('SSH-2.0-OpenSSH\r\n');
    expect(await probeOnce('127.0.0.1', s.port)).toBe(false);
  });

  it('fails after its timeout when the server never answers', async () => {
    const s = await server(null);
    const started = Date.now();
    expect(await probeOnce('127.0.0.1', s.port, 200)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  });

  it('fails when nothing listens', async () => {
    expect(await probeOnce('127.0.0.1', await freePort())).toBe(false);
  });
});

describe('waitUntilReady', () => {
  const base = { intervalMs: 20, signal: new AbortController().signal };

  it('is ready once a server answers HTTP, even if it starts late', async () => {
    const port = await freePort();
    setTimeout(() => {
      void import('node:net').then(({ createServer }) => {
        const late = createServer((socket) => socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\n\r\n')));
        late.listen(port, '127.0.0.1');
        servers.push({ close: () => new Promise<void>((r) => late.close(() => r())) });
      });
    }, 150);
    expect(await waitUntilReady({ ...base, address: `127.0.0.1:${port}`, timeoutMs: 5_000 })).toBe('ready');
  });

  it('times out against a server that does not speak HTTP', async () => {
    const s = await server('nope!');
    const started = Date.now();
    expect(await waitUntilReady({ ...base, address: s.address, timeoutMs: 300 })).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const result = await waitUntilReady({ ...base, signal: ac.signal, address: `127.0.0.1:${await freePort()}`, timeoutMs: 10_000 });
    expect(result).toBe('aborted');
  });
});

describe('ProbeNudge', () => {
  it('cuts a pause short when fired, and a fire between pauses skips the next one', async () => {
    const nudge = new ProbeNudge();
    const signal = new AbortController().signal;
    const started = Date.now();
    const paused = nudge.pause(10_000, signal);
    setTimeout(() => nudge.fire(), 20);
    await paused;
    nudge.fire();
    await nudge.pause(10_000, signal);
    await nudge.pause(30, signal); // fired once: only one pause is skipped
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('parseAddress', () => {
  it('splits host and port, IPv6 included', () => {
    expect(parseAddress('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
  });
});
