/**
 * A second connect with a held key returns the same backend (spawned false) with a fresh token and
 * secret, and every token carries its own user and auth through the proxy (reference §3.3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('key reuse', () => {
  it('second connect with the same key: same backend, spawned false, new token and secret, each token with its own user', async () => {
    const key = uniqueName('reuse');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig(), user: 'alice', auth: { who: 'alice' } });

    const res = await jp.connect({ key: { name: key }, spawn_config: jp.spawnConfig(), user: 'bob', auth: { who: 'bob' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const second = res.body;
    expect(second.backend_id).toBe(first.backend_id);
    expect(second.spawned).toBe(false);
    expect(second.status).toBe('ready');
    expect(second.drone).toBeNull();
    expect(second.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.token).not.toBe(first.token);
    expect(second.secret_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.secret_token).not.toBe(first.secret_token);
    expect(second.url).toBe(`http://${jp.cluster}/${second.token}/`);

    const viaFirst = await jp.echo(first.token, '/who');
    const viaSecond = await jp.echo(second.token, '/who');
    expect(viaFirst.headers['x-verified-username']).toBe('alice');
    expect(viaSecond.headers['x-verified-username']).toBe('bob');
    expect(JSON.parse(String(viaFirst.headers['x-verified-user-data']))).toEqual({ who: 'alice' });
    expect(JSON.parse(String(viaSecond.headers['x-verified-user-data']))).toEqual({ who: 'bob' });
    expect(viaFirst.headers['x-verified-secret']).toBe(first.secret_token);
    expect(viaSecond.headers['x-verified-secret']).toBe(second.secret_token);
    expect(viaFirst.headers['x-verified-path']).toBe(`/${first.token}/`);
    expect(viaSecond.headers['x-verified-path']).toBe(`/${second.token}/`);
    // Same process behind both tokens.
    expect(viaSecond.env.SESSION_BACKEND_ID).toBe(first.backend_id);
    expect(viaSecond.env.SESSION_BACKEND_FENCING_TOKEN).toBe(viaFirst.env.SESSION_BACKEND_FENCING_TOKEN);
  });

  it('a key-only connect (no spawn_config) to a held key gets a token for the running backend', async () => {
    const key = uniqueName('keyonly');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig(), user: 'alice' });
    const res = await jp.connect({ key: { name: key }, user: 'carol' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.backend_id).toBe(first.backend_id);
    expect(res.body.spawned).toBe(false);
    const reply = await jp.echo(res.body.token, '/');
    expect(reply.headers['x-verified-username']).toBe('carol');
  });

  it('keys are per namespace: the same name in another namespace spawns another backend', async () => {
    const name = uniqueName('ns');
    const a = await jp.connectOk({ key: { name, namespace: 'team-a' }, spawn_config: jp.spawnConfig() });
    const b = await jp.connectOk({ key: { name, namespace: 'team-b' }, spawn_config: jp.spawnConfig() });
    expect(a.spawned).toBe(true);
    expect(b.spawned).toBe(true);
    expect(b.backend_id).not.toBe(a.backend_id);
    await jp.waitForStatus(b.backend_id, 'ready');
    const reply = await jp.echo(b.token, '/');
    expect(reply.env.SESSION_BACKEND_KEY).toBe(name);
  });
});
