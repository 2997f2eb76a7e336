/** Activity reports: what the proxy counts per backend and how it reports it per drone (loopback, fake NATS). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { ActivityReport, BackendRecord } from '@jetplane/protocol';
import { createLogger } from '@jetplane/observability';
import { CLUSTER, send, startFixture, type Fixture } from './test-support/fixture.js';
import { MAX_BACKENDS_PER_REPORT, publishActivity } from './activity-reporter.js';
import { RouteTable } from './route-table.js';

const TOKEN = 'A'.repeat(43);
let fx: Fixture;

beforeAll(async () => {
  fx = await startFixture();
  fx.addToken(TOKEN);
  fx.ctx.table.putBackend({ id: 'b1', cluster: CLUSTER, drone: 'dr-one', state: { status: 'ready', time: 1, address: `127.0.0.1:${fx.backendPort}` } } as BackendRecord, 1);
});

afterAll(() => fx.close());

const b1 = () => fx.ctx.table.collectActivity().get('dr-one')?.find((b) => b.backend_id === 'b1');

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  for (const start = Date.now(); !check(); ) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('activity accounting', () => {
  it('counts requests, reports a quiet backend once with 0 open, then leaves it out', async () => {
    fx.ctx.table.collectActivity();
    for (let i = 0; i < 3; i++) expect((await send(fx.proxyPort, `/${TOKEN}/x${i}`)).status).toBe(200);
    expect(b1()).toEqual({ backend_id: 'b1', connections: 0, requests: 3 });
    expect(b1()).toEqual({ backend_id: 'b1', connections: 0, requests: 0 });
    expect(b1()).toBeUndefined();
  });

  it('an HTTP request in flight (a long poll / stream) counts as an open connection until it ends', async () => {
    fx.ctx.table.collectActivity();
    let destroy!: () => void;
    const ended = new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: fx.proxyPort, path: `/${TOKEN}/stream-activity`, agent: false }, (res) => {
        res.once('data', () => (destroy = () => req.destroy()));
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
    await until(() => destroy !== undefined);
    expect(b1()).toEqual({ backend_id: 'b1', connections: 1, requests: 1 });
    expect(b1()).toEqual({ backend_id: 'b1', connections: 1, requests: 0 });
    destroy();
    await ended;
    await until(() => fx.ctx.table.backend('b1')!.inFlight === 0);
    expect(b1()).toEqual({ backend_id: 'b1', connections: 0, requests: 0 });
  });

  it('an open WebSocket is reported in every round while it stays open', async () => {
    fx.ctx.table.collectActivity();
    const ws = new WebSocket(`ws://127.0.0.1:${fx.proxyPort}/${TOKEN}/ws`);
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    expect(b1()).toEqual({ backend_id: 'b1', connections: 1, requests: 1 });
    for (let i = 0; i < 3; i++) expect(b1()).toEqual({ backend_id: 'b1', connections: 1, requests: 0 });
    ws.close();
    await until(() => fx.ctx.table.backend('b1')!.openConnections === 0);
    expect(b1()).toEqual({ backend_id: 'b1', connections: 0, requests: 0 });
    expect(b1()).toBeUndefined();
  });
});

describe('publishActivity', () => {
  it('one message per drone per round (chunked when huge), on jetplane.activity.<drone>', () => {
    const table = new RouteTable({ cluster: CLUSTER, fetcher: { getToken: async () => null, getBackend: async () => null } });
    const n = MAX_BACKENDS_PER_REPORT + 5;
    for (let i = 0; i < n; i++) {
      table.putBackend({ id: `x${i}`, cluster: CLUSTER, drone: i % 2 === 0 ? 'dr-a' : 'dr-b', state: { status: 'ready', time: 1 } } as BackendRecord, 1);
      table.backend(`x${i}`)!.requests = 1;
    }
    table.putBackend({ id: 'idle', cluster: CLUSTER, drone: 'dr-c', state: { status: 'ready', time: 1 } } as BackendRecord, 1);
    const sent: Array<{ subject: string; report: ActivityReport }> = [];
    const nc = { isClosed: () => false, publish: (subject: string, data?: Uint8Array) => void sent.push({ subject, report: JSON.parse(Buffer.from(data!).toString()) as ActivityReport }) };
    const count = publishActivity({ nc: nc as never, table, proxy: 'px-test', intervalMs: 500, log: createLogger({ component: 'test', level: 'silent' }) });
    expect(count).toBe(sent.length);
    expect(new Set(sent.map((s) => s.subject))).toEqual(new Set(['jetplane.activity.dr-a', 'jetplane.activity.dr-b']));
    expect(sent.reduce((sum, s) => sum + s.report.backends.length, 0)).toBe(n);
    expect(sent.every((s) => s.report.proxy === 'px-test' && s.report.interval_ms === 500 && s.report.backends.length <= MAX_BACKENDS_PER_REPORT)).toBe(true);
    table.close();
  });
});
