/**
 * Connect with key + user + auth spawns a backend that becomes ready; requests through the proxy
 * reach it with the forwarded path, the backend environment and the verified headers, and spoofed
 * `x-verified-*` headers never get through (contract §3, §4, §5).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomString } from '@jetplane/protocol';
import { openSse, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

const VERIFIED_HEADERS = ['x-verified-backend', 'x-verified-path', 'x-verified-secret', 'x-verified-user-data', 'x-verified-username'];

describe('connect and route through the proxy', () => {
  it('spawns a backend for a new key, streams it to ready over SSE, and routes /<token>/<path>?<query> to it with env and verified headers', async () => {
    const key = uniqueName('route');
    const auth = { role: 'tester', marker: `auth-${randomString(12)}`, nested: { n: 1 } };
    const res = await jp.connect({
      key: { name: key },
      spawn_config: jp.spawnConfig({}, { EXAMPLE_EXTRA: 'extra-value' }),
      user: 'alice',
      auth,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const c = res.body;
    expect(c.spawned).toBe(true);
    expect(c.status).toBe('scheduled');
    expect(c.backend_id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(c.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.secret_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.secret_token).not.toBe(c.token);
    expect(c.url).toBe(`http://${jp.cluster}/${c.token}/`);
    expect(c.status_url).toMatch(new RegExp(`/pub/b/${c.backend_id}/status$`));
    expect(c.drone).toBe(jp.drones[0]!.name);
    expect(c.subdomain).toBeNull();

    const sse = await openSse(`${jp.controllerUrl}/pub/b/${c.backend_id}/status-stream`);
    try {
      expect(sse.status).toBe(200);
      expect(String(sse.headers['content-type'])).toMatch(/^text\/event-stream/);
      await sse.waitFor((e) => (JSON.parse(e.data) as { status: string }).status === 'ready', 20_000);
    } finally {
      sse.close();
    }

    const reply = await jp.echo(c.token, '/some/path?x=1', {
      'X-Verified-Username': 'mallory',
      'x-VERIFIED-evil': 'spoofed',
      'X-VERIFIED-SECRET': 'spoofed-secret',
      'x-verified-backend': 'spoofed-backend',
    });
    expect(reply.path).toBe('/some/path?x=1');
    expect(reply.method).toBe('GET');

    const h = reply.headers;
    expect(h['x-verified-username']).toBe('alice');
    expect(JSON.parse(String(h['x-verified-user-data']))).toEqual(auth);
    expect(h['x-verified-secret']).toBe(c.secret_token);
    expect(h['x-verified-backend']).toBe(c.backend_id);
    expect(h['x-verified-path']).toBe(`/${c.token}/`);
    expect(String(h['x-forwarded-for'])).toContain('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-verified-evil']).toBeUndefined();
    expect(Object.keys(h).filter((k) => k.toLowerCase().startsWith('x-verified-')).sort()).toEqual(VERIFIED_HEADERS);

    expect(reply.env.SESSION_BACKEND_ID).toBe(c.backend_id);
    expect(reply.env.SESSION_BACKEND_KEY).toBe(key);
    expect(reply.env.SESSION_BACKEND_FENCING_TOKEN).toMatch(/^[0-9]+$/);
    expect(reply.env.PORT).toMatch(/^[0-9]+$/);
    expect(reply.env.EXAMPLE_EXTRA).toBe('extra-value');
    expect(reply.env.SESSION_BACKEND_STATIC_TOKEN).toBeUndefined();
  });

  it('forwards the method, query and body of other requests, and uses the default cluster when spawn_config has none', async () => {
    const c = await jp.spawnReady({
      key: { name: uniqueName('post') },
      spawn_config: { executable: jp.spawnConfig().executable },
      user: 'bob',
    });
    expect(c.url).toBe(`http://${jp.cluster}/${c.token}/`);
    const res = await jp.proxyRequest(c.token, '/a/b/c?q=1&r=two', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status, res.body).toBe(200);
    const reply = JSON.parse(res.body) as { path: string; method: string; headers: Record<string, string> };
    expect(reply.method).toBe('POST');
    expect(reply.path).toBe('/a/b/c?q=1&r=two');
    expect(reply.headers['x-verified-username']).toBe('bob');
    // No auth in the connect request: the user data is an empty object.
    expect(JSON.parse(reply.headers['x-verified-user-data'] ?? 'null')).toEqual({});
  });

  it('answers 404 with a short body for unknown and malformed tokens', async () => {
    for (const token of ['A'.repeat(43), 'not-a-token', `s.${'B'.repeat(43)}`]) {
      const res = await jp.proxyRequest(token, '/x');
      expect(res.status, `token ${token}: ${res.body}`).toBe(404);
      expect(res.body.length).toBeLessThan(300);
    }
  });
});
