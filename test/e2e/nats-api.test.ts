/**
 * The NATS surface: connect and terminate over request-reply give the same answers as HTTP, errors
 * come back as `{error: {id, kind, message}, status}` (contract §6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsHandle } from '@jetplane/nats';
import { Subjects, type ConnectResponse, type NatsErrorReply } from '@jetplane/protocol';
import { startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;
let nats: NatsHandle;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
  nats = await connectNats({ servers: [jp.natsUrl], name: 'jetplane-e2e-nats-api' });
});

afterAll(async () => {
  await nats?.close();
  await jp?.teardown();
  await stopAllProcesses();
});

async function natsRequest<T>(subject: string, body: unknown): Promise<T> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const reply = await nats.nc.request(subject, payload, { timeout: 10_000 });
  return JSON.parse(reply.string()) as T;
}

function expectErrorReply(reply: unknown, status: number, kind: string): NatsErrorReply {
  const r = reply as NatsErrorReply;
  expect(r.status, JSON.stringify(reply)).toBe(status);
  expect(r.error?.kind).toBe(kind);
  expect(typeof r.error?.id).toBe('string');
  expect(typeof r.error?.message).toBe('string');
  return r;
}

describe('NATS request-reply API', () => {
  it('connect on jetplane.ctrl.connect answers the same shape as POST /ctrl/connect, and the token routes', async () => {
    const viaHttp = await jp.connectOk({ key: { name: uniqueName('http') }, spawn_config: jp.spawnConfig() });
    const key = uniqueName('nats');
    const viaNats = await natsRequest<ConnectResponse>(Subjects.connect, {
      key: { name: key },
      spawn_config: jp.spawnConfig(),
      user: 'natsuser',
      auth: { via: 'nats' },
    });
    expect(Object.keys(viaNats).sort()).toEqual(Object.keys(viaHttp).sort());
    expect(viaNats.spawned).toBe(true);
    expect(viaNats.status).toBe('scheduled');
    expect(viaNats.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(viaNats.secret_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(viaNats.url).toBe(`http://${jp.cluster}/${viaNats.token}/`);
    expect(viaNats.drone).toBe(jp.drones[0]!.name);

    await jp.waitForStatus(viaNats.backend_id, 'ready');
    const reply = await jp.echo(viaNats.token, '/n?a=b');
    expect(reply.path).toBe('/n?a=b');
    expect(reply.headers['x-verified-username']).toBe('natsuser');
    expect(JSON.parse(String(reply.headers['x-verified-user-data']))).toEqual({ via: 'nats' });
    expect(reply.env.SESSION_BACKEND_KEY).toBe(key);

    const again = await natsRequest<ConnectResponse>(Subjects.connect, { key: { name: key } });
    expect(again.spawned).toBe(false);
    expect(again.backend_id).toBe(viaNats.backend_id);
  });

  it('errors: not JSON and schema failures → {error: InvalidRequest, status: 400}; connect errors keep their HTTP status', async () => {
    expectErrorReply(await natsRequest(Subjects.connect, '{"key": '), 400, 'InvalidRequest');
    const schema = expectErrorReply(await natsRequest(Subjects.connect, { key: { name: 'k' }, spawn_config: { executable: {} } }), 400, 'InvalidRequest');
    expect(schema.error.message).toMatch(/executable|command|image/);
    expectErrorReply(await natsRequest(Subjects.connect, { key: { name: uniqueName('free') } }), 409, 'KeyUnheldNoSpawnConfig');
    expectErrorReply(
      await natsRequest(Subjects.connect, { key: { name: uniqueName('nopool') }, spawn_config: jp.spawnConfig({ pool: 'nowhere' }) }),
      500,
      'NoDroneAvailable',
    );
  });

  it('terminate on jetplane.ctrl.terminate ends the backend; unknown backends are NotFound', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('natsterm') }, spawn_config: jp.spawnConfig() });
    const reply = await natsRequest<Record<string, unknown>>(Subjects.terminate, { cluster: jp.cluster, backend_id: c.backend_id, hard: true });
    expect(reply.error, JSON.stringify(reply)).toBeUndefined();
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 20_000);
    expect(st.termination_kind).toBe('hard');
    expect(st.termination_reason).toBe('external');

    expectErrorReply(await natsRequest(Subjects.terminate, { cluster: jp.cluster, backend_id: uniqueName('ghost') }), 404, 'NotFound');
  });
});
