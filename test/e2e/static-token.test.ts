/**
 * Static tokens (`use_static_token: true`): one `s.…` token for the backend's life, no secret, the
 * path forwarded unchanged, and `SESSION_BACKEND_STATIC_TOKEN` set (contract §4, §5; reference §3.3).
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

describe('static tokens', () => {
  it('issues an s.… token without secret; the backend sees the full path and the token in its env', async () => {
    const key = uniqueName('static');
    const c = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig({ use_static_token: true }), user: 'ignored' });
    expect(c.spawned).toBe(true);
    expect(c.token.startsWith('s.')).toBe(true);
    expect(c.token).toMatch(/^s\.[A-Za-z0-9_-]{43}$/);
    expect(c.secret_token).toBeNull();
    expect(c.url).toBe(`http://${jp.cluster}/${c.token}/`);

    const reply = await jp.echo(c.token, '/path?y=2', { 'X-Verified-Username': 'mallory', 'x-VERIFIED-evil': '1' });
    expect(reply.path).toBe(`/${c.token}/path?y=2`);
    expect(reply.env.SESSION_BACKEND_STATIC_TOKEN).toBe(c.token);
    expect(reply.env.SESSION_BACKEND_ID).toBe(c.backend_id);
    expect(reply.env.SESSION_BACKEND_KEY).toBe(key);
    expect(reply.headers['x-verified-backend']).toBe(c.backend_id);
    expect(reply.headers['x-verified-path']).toBe(`/${c.token}/`);
    expect(reply.headers['x-verified-evil']).toBeUndefined();
    expect(reply.headers['x-verified-username']).not.toBe('mallory');
  });

  it('a later connect with the same key hands out the same static token', async () => {
    const key = uniqueName('static2');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig({ use_static_token: true }) });
    const again = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig({ use_static_token: true }) });
    expect(again.spawned).toBe(false);
    expect(again.backend_id).toBe(first.backend_id);
    expect(again.token).toBe(first.token);
    expect(again.secret_token).toBeNull();
  });
});
