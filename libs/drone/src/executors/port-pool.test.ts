import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { PortPool, PortsExhaustedError, ephemeralPorts, overlaps, parsePortRange } from './port-pool.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

const free = async (): Promise<boolean> => true;

describe('PortPool', () => {
  it('hands ports out in turn from its start, never one that is held, and wraps around', async () => {
    const pool = new PortPool({ range: { first: 21_000, last: 21_003 }, host: '127.0.0.1', start: 2, canBind: free });
    expect([await pool.take(), await pool.take(), await pool.take()]).toEqual([21_002, 21_003, 21_000]);
    pool.release(21_003);
    // 21_001 is next; 21_002 and 21_000 are held; the released 21_003 comes back only after it.
    expect([await pool.take(), await pool.take()]).toEqual([21_001, 21_003]);
    await expect(pool.take()).rejects.toBeInstanceOf(PortsExhaustedError);
    await expect(pool.take()).rejects.toMatchObject({ kind: 'ports-exhausted' });
  });

  it('concurrent takes never get the same port', async () => {
    const slowBind = (): Promise<boolean> => new Promise((resolve) => setTimeout(() => resolve(true), 5));
    const pool = new PortPool({ range: { first: 21_000, last: 21_009 }, host: '127.0.0.1', canBind: slowBind });
    const ports = await Promise.all(Array.from({ length: 10 }, () => pool.take()));
    expect(new Set(ports).size).toBe(10);
  });

  it('skips a port another process listens on (real bind check)', async () => {
    const taken = createServer();
    servers.push(taken);
    // A port below the ephemeral range that nobody else uses right now.
    const port = await new Promise<number>((resolve, reject) => {
      const attempt = (p: number): void => {
        taken.once('error', () => (p < 29_999 ? attempt(p + 1) : reject(new Error('no port'))));
        taken.listen(p, '127.0.0.1', () => resolve(p));
      };
      attempt(24_000 + Math.floor(Math.random() * 5_000));
    });
    const pool = new PortPool({ range: { first: port, last: port + 1 }, host: '127.0.0.1', start: 0 });
    const got = await pool.take();
    if (port + 1 <= 65_535) expect(got).toBe(port + 1);
    pool.release(got);
  });
});

describe('port ranges', () => {
  it('parses first-last within the non-privileged ports', () => {
    expect(parsePortRange('20000-29999')).toEqual({ first: 20_000, last: 29_999 });
    expect(parsePortRange(' 3000 - 3000 ')).toEqual({ first: 3_000, last: 3_000 });
    for (const bad of ['80-90', '3000', '5000-4000', '60000-70000', 'a-b']) expect(parsePortRange(bad)).toBeNull();
  });

  it('reads the ephemeral range and tells overlaps', () => {
    const file = join(tmpdir(), `ip_local_port_range-${process.pid}`);
    writeFileSync(file, '32768\t60999\n');
    const ephemeral = ephemeralPorts(file);
    expect(ephemeral).toEqual({ first: 32_768, last: 60_999 });
    expect(overlaps({ first: 20_000, last: 29_999 }, ephemeral!)).toBe(false);
    expect(overlaps({ first: 30_000, last: 40_000 }, ephemeral!)).toBe(true);
    expect(ephemeralPorts(join(tmpdir(), 'no-such-file-here'))).toBeNull();
  });
});
