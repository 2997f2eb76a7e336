import { describe, it, expect, afterEach } from 'vitest';
import { ApiError, type BackendState, type ConnectRequest } from '@jetplane/protocol';
import { createLogger } from '@jetplane/observability';
import type { KvEntry } from '@jetplane/nats';
import { buildHttpServer, type HttpServer } from './http-server.js';
import { createControllerMetrics } from './metrics.js';
import type { ControllerApi } from './service.js';
import type { TerminateCommand } from './terminate.js';

const log = createLogger({ component: 'test', level: 'silent' });

function entry(state: BackendState): KvEntry {
  const value = new TextEncoder().encode(JSON.stringify({ state }));
  return { key: 'b1', value, operation: 'PUT', revision: 1 } as KvEntry;
}

function fakeApi(calls: { connect: ConnectRequest[]; terminate: TerminateCommand[] }): ControllerApi {
  return {
    connect: async (req) => {
      calls.connect.push(req);
      if (req.key?.name === 'boom') throw new Error('secret internal detail');
      if (req.key?.name === 'full') throw new ApiError('TooManyBackends', undefined, { retryAfter: 5 });
      return { backend_id: 'b1', spawned: true, status: 'scheduled', token: 't', url: 'u', subdomain: null, secret_token: 's', status_url: 'x', drone: 'dr-1' };
    },
    terminate: async (cmd) => {
      if (cmd.backendId !== 'b1') throw new ApiError('NotFound', 'Backend does not exist');
      calls.terminate.push(cmd);
      return true;
    },
    drain: async (_cluster, drone) => {
      if (drone !== 'dr-1') throw new ApiError('NotFound', 'Drone does not exist');
      return { updated: true };
    },
    status: async (id) => {
      if (id !== 'b1') throw new ApiError('NotFound', 'Backend does not exist');
      return { status: 'ready', time: 1 };
    },
    watchStatus: async (id) => {
      if (id !== 'b1') throw new ApiError('NotFound', 'Backend does not exist');
      const entries = [entry({ status: 'scheduled', time: 1 }), entry({ status: 'ready', time: 2 }), entry({ status: 'terminated', time: 3 })];
      return Object.assign(
        (async function* () {
          yield* entries;
        })(),
        { stop: () => undefined },
      );
    },
    listDrones: () => [],
    logs: async () => {
      throw new ApiError('NotFound', 'Backend does not exist');
    },
    listBackends: (q) => [{ id: 'b1', cluster: q.cluster ?? 'c', pool: '', drone: 'd', status: 'ready', key: { namespace: '', name: 'k' }, created_at: 1, status_time: 1 }],
    healthy: () => false,
  };
}

let server: HttpServer | undefined;
function setup() {
  const calls = { connect: [] as ConnectRequest[], terminate: [] as TerminateCommand[] };
  server = buildHttpServer({ api: fakeApi(calls), metrics: createControllerMetrics(), log });
  return { app: server.app, calls };
}
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function expectApiError(res: { statusCode: number; body: string }, status: number, kind: string): { id: string; message: string } {
  expect(res.statusCode).toBe(status);
  const body = JSON.parse(res.body) as { id: string; kind: string; message: string };
  expect(Object.keys(body).sort()).toEqual(['id', 'kind', 'message']);
  expect(body.kind).toBe(kind);
  expect(body.id).toMatch(/^[a-z0-9]{14}$/);
  return body;
}

describe('controller HTTP API', () => {
  it('connects with a valid body', async () => {
    const { app, calls } = setup();
    const res = await app.inject({ method: 'POST', url: '/ctrl/connect', payload: { spawn_config: { executable: { image: 'x' } } } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ backend_id: 'b1', spawned: true });
    expect(calls.connect).toHaveLength(1);
  });

  it('maps bad bodies to InvalidRequest naming the field', async () => {
    const { app } = setup();
    const invalid = await app.inject({ method: 'POST', url: '/ctrl/connect', payload: { spawn_config: { executable: { command: [] } } } });
    expect(expectApiError(invalid, 400, 'InvalidRequest').message).toMatch(/^spawn_config\.executable\.command: /);
    const malformed = await app.inject({ method: 'POST', url: '/ctrl/connect', headers: { 'content-type': 'application/json' }, payload: '{"key":' });
    expectApiError(malformed, 400, 'InvalidRequest');
    const wrongType = await app.inject({ method: 'POST', url: '/ctrl/connect', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    expect(expectApiError(wrongType, 400, 'InvalidRequest').message).toMatch(/Content-Type/);
    const empty = await app.inject({ method: 'POST', url: '/ctrl/connect' });
    expect(expectApiError(empty, 400, 'InvalidRequest').message).toBe('body: must be object');
  });

  it('answers 413 PayloadTooLarge past the body limit', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'POST', url: '/ctrl/connect', headers: { 'content-type': 'application/json' }, payload: `"${'x'.repeat(70_000)}"` });
    expectApiError(res, 413, 'PayloadTooLarge');
  });

  it('never leaks internal errors, and sends Retry-After', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'POST', url: '/ctrl/connect', payload: { key: { name: 'boom' } } });
    const body = expectApiError(res, 500, 'Other');
    expect(res.body).not.toContain('secret internal detail');
    expect(body.message).toBe('Internal error.');
    const full = await app.inject({ method: 'POST', url: '/ctrl/connect', payload: { key: { name: 'full' } } });
    expectApiError(full, 429, 'TooManyBackends');
    expect(full.headers['retry-after']).toBe('5');
  });

  it('terminates on both route forms, with an empty body of any kind', async () => {
    const { app, calls } = setup();
    const a = await app.inject({ method: 'POST', url: '/ctrl/b/b1/soft-terminate' });
    expect([a.statusCode, a.body]).toEqual([200, 'null']);
    const b = await app.inject({ method: 'POST', url: '/ctrl/c/c1:9090/b/b1/hard-terminate', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(b.statusCode).toBe(200);
    const c = await app.inject({ method: 'POST', url: '/ctrl/b/b1/hard-terminate', payload: {} });
    expect(c.statusCode).toBe(200);
    expect(calls.terminate).toEqual([
      { backendId: 'b1', kind: 'soft', cluster: undefined },
      { backendId: 'b1', kind: 'hard', cluster: 'c1:9090' },
      { backendId: 'b1', kind: 'hard', cluster: undefined },
    ]);
    expectApiError(await app.inject({ method: 'POST', url: '/ctrl/b/nope/soft-terminate' }), 404, 'NotFound');
  });

  it('drains and lists', async () => {
    const { app } = setup();
    const drained = await app.inject({ method: 'POST', url: '/ctrl/c/c1/d/dr-1/drain' });
    expect(drained.json()).toEqual({ updated: true });
    expectApiError(await app.inject({ method: 'POST', url: '/ctrl/c/c1/d/dr-2/drain' }), 404, 'NotFound');
    expect((await app.inject({ method: 'GET', url: '/ctrl/backends?cluster=zz' })).json()[0].cluster).toBe('zz');
    expect((await app.inject({ method: 'GET', url: '/ctrl/drones' })).json()).toEqual([]);
    expectApiError(await app.inject({ method: 'GET', url: '/ctrl/drones?cluster=a&cluster=b' }), 400, 'InvalidRequest');
  });

  it('serves status with CORS on /pub only', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/pub/b/b1/status' });
    expect(res.json()).toEqual({ status: 'ready', time: 1 });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const other = await app.inject({ method: 'GET', url: '/ctrl/status' });
    expect(other.json()).toMatchObject({ status: 'ok' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await app.inject({ method: 'OPTIONS', url: '/pub/c/x/b/b1/status' });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET, POST');
    expectApiError(await app.inject({ method: 'GET', url: '/pub/b/nope/status' }), 404, 'NotFound');
  });

  it('streams statuses as SSE and 404s unknown backends', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/pub/c/c1/b/b1/status-stream', headers: { 'last-event-id': 'scheduled' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body).toBe('id: ready\ndata: {"status":"ready","time":2}\n\nid: terminated\ndata: {"status":"terminated","time":3,"exit_error":false,"exit_code":null}\n\n');
    expectApiError(await app.inject({ method: 'GET', url: '/pub/b/nope/status-stream' }), 404, 'NotFound');
  });

  it('reports health, metrics and unknown routes', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(503);
    await app.inject({ method: 'POST', url: '/ctrl/connect', payload: {} });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('jetplane_controller_connects_total{outcome="spawned",via="http"');
    expectApiError(await app.inject({ method: 'GET', url: '/nope' }), 404, 'NotFound');
  });
});
