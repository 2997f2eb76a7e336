/**
 * Invalid requests get `{id, kind, message}` errors (400 for bad JSON or schema failures, 413 for
 * bodies over 64 KiB) and leave every component healthy (contract §3; protocol MAX_REQUEST_BODY_BYTES).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '@jetplane/protocol';
import { httpRequest, startJetPlane, stopAllProcesses, uniqueName, type HttpResponse, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

function postConnect(body: string | Buffer): Promise<HttpResponse> {
  return httpRequest(`${jp.controllerUrl}/ctrl/connect`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
}

function expectError(res: HttpResponse, status: number, kind?: string): { id: string; kind: string; message: string } {
  expect(res.status, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/application\/json/);
  const body = JSON.parse(res.body) as { id: string; kind: string; message: string };
  expect(typeof body.id).toBe('string');
  expect(body.id.length).toBeGreaterThan(0);
  expect(typeof body.kind).toBe('string');
  expect(typeof body.message).toBe('string');
  if (kind) expect(body.kind).toBe(kind);
  return body;
}

describe('bad requests', () => {
  it('malformed JSON → 400 InvalidRequest', async () => {
    expectError(await postConnect('{"key": {"name": "x"'), 400, 'InvalidRequest');
    expectError(await postConnect('not json at all'), 400, 'InvalidRequest');
  });

  it('schema failures → 400 InvalidRequest naming the field', async () => {
    const noCommand = expectError(await postConnect(JSON.stringify({ key: { name: 'k' }, spawn_config: { cluster: jp.cluster, executable: {} } })), 400, 'InvalidRequest');
    expect(noCommand.message).toMatch(/executable|command|image/);

    const badAuth = expectError(await postConnect(JSON.stringify({ key: { name: 'k' }, auth: 'not-an-object' })), 400, 'InvalidRequest');
    expect(badAuth.message).toMatch(/auth/);

    const noName = expectError(await postConnect(JSON.stringify({ key: {}, spawn_config: jp.spawnConfig() })), 400, 'InvalidRequest');
    expect(noName.message).toMatch(/name|key/);

    const badCommand = expectError(
      await postConnect(JSON.stringify({ spawn_config: { cluster: jp.cluster, executable: { command: 'node server.js' } } })),
      400,
      'InvalidRequest',
    );
    expect(badCommand.message).toMatch(/command|executable/);
  });

  it(`a body over ${MAX_REQUEST_BODY_BYTES} bytes → 413 with {id, kind, message}`, async () => {
    const body = JSON.stringify({ key: { name: uniqueName('big') }, spawn_config: jp.spawnConfig(), auth: { pad: 'x'.repeat(MAX_REQUEST_BODY_BYTES + 1024) } });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_REQUEST_BODY_BYTES);
    expectError(await postConnect(body), 413);
  });

  it('afterwards every component is healthy and a fresh connect still works', async () => {
    for (const url of [jp.controllerUrl, jp.proxyHealthUrl, ...jp.drones.map((d) => d.healthUrl)]) {
      const health = await httpRequest(`${url}/healthz`);
      expect(health.status, `${url}/healthz: ${health.body}`).toBe(200);
      const metrics = await httpRequest(`${url}/metrics`);
      expect(metrics.status, `${url}/metrics`).toBe(200);
      expect(metrics.body).toMatch(/^# (HELP|TYPE) /m);
    }
    for (const p of [jp.controller, jp.proxy, ...jp.drones.map((d) => d.proc)]) expect(p.running, p.name).toBe(true);

    const c = await jp.spawnReady({ key: { name: uniqueName('after') }, spawn_config: jp.spawnConfig(), user: 'still-ok' });
    expect(c.spawned).toBe(true);
    const reply = await jp.echo(c.token, '/fine');
    expect(reply.path).toBe('/fine');
    expect(reply.headers['x-verified-username']).toBe('still-ok');
  });
});
