/**
 * Key locking under contention: 30 concurrent connects with one new key, spread over two
 * controllers and two drones, create exactly one backend (architecture: Connect flow, KeyStore.acquire).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendListing } from '@jetplane/protocol';
import { getJson, listOf, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 2, controllers: 2 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

const CONCURRENCY = 30;

describe('concurrent connects with one key', () => {
  it(`${CONCURRENCY} concurrent connects with one new key: exactly one spawned, all the same backend, one backend record`, async () => {
    const key = uniqueName('race');
    const results = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        jp.connectVia(i % jp.controllerUrls.length, { key: { name: key }, spawn_config: jp.spawnConfig(), user: `user-${i}` }),
      ),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const bodies = results.map((r) => r.body);
    expect(bodies.filter((b) => b.spawned)).toHaveLength(1);
    const backendIds = new Set(bodies.map((b) => b.backend_id));
    expect([...backendIds]).toHaveLength(1);
    const backendId = bodies[0]!.backend_id;
    expect(new Set(bodies.map((b) => b.token)).size).toBe(CONCURRENCY);
    expect(new Set(bodies.map((b) => b.secret_token)).size).toBe(CONCURRENCY);

    // JetStream holds one backend for the key, and so does the listing of every controller.
    const inspector = await jp.inspector();
    const records = (await inspector.backendRecords()).filter((r) => r.key.name === key);
    expect(records.map((r) => r.id)).toEqual([backendId]);
    for (const url of jp.controllerUrls) {
      const listing = await getJson(`${url}/ctrl/backends`);
      expect(listing.status).toBe(200);
      const forKey = listOf<BackendListing>(listing.body).filter((b) => b.key?.name === key);
      expect(forKey.map((b) => b.id)).toEqual([backendId]);
    }

    // Every token routes to that one backend with its own user.
    await jp.waitForStatus(backendId, 'ready');
    for (let i = 0; i < CONCURRENCY; i++) {
      const reply = await jp.echo(bodies[i]!.token, '/who');
      expect(reply.headers['x-verified-backend']).toBe(backendId);
      expect(reply.headers['x-verified-username']).toBe(`user-${i}`);
    }
  });

  it('concurrent connects with different keys each spawn their own backend, spread over both drones', async () => {
    const keys = Array.from({ length: 8 }, () => uniqueName('many'));
    const results = await Promise.all(keys.map((k, i) => jp.connectVia(i % 2, { key: { name: k }, spawn_config: jp.spawnConfig() })));
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(results.every((r) => r.body.spawned)).toBe(true);
    expect(new Set(results.map((r) => r.body.backend_id)).size).toBe(keys.length);
    // Least-loaded scheduling: with two equal drones, both get work.
    const drones = new Set(results.map((r) => r.body.drone));
    expect(drones).toEqual(new Set(jp.drones.map((d) => d.name)));
    await Promise.all(results.map((r) => jp.waitForStatus(r.body.backend_id, 'ready', 30_000)));
  });
});
