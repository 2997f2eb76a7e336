/**
 * The terminate API in both path forms: soft delivers SIGTERM and ends `terminated` soft/external,
 * hard ends it with SIGKILL; afterwards the backend's tokens are revoked at the proxy and in
 * `jetplane_tokens` (contract §3, §5; architecture Q10).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { BackendListing, ConnectResponse } from '@jetplane/protocol';
import { getJson, listOf, REPO_ROOT, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';

const STUBBORN_BACKEND = join(REPO_ROOT, 'test', 'fixtures', 'stubborn-backend.mjs');

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

/** The token no longer routes (404, or 410 for a terminated backend) and its KV record is gone. */
async function expectRevoked(c: ConnectResponse, backendPort: string | undefined): Promise<void> {
  const res = await jp.waitForTokenRefused(c.token);
  expect(res.body.length).toBeLessThan(300);
  if (backendPort) expect(res.body).not.toContain(`:${backendPort}`);
  const inspector = await jp.inspector();
  await waitFor(async () => !(await inspector.tokenRecordExists(c.token)) || undefined, {
    timeoutMs: 10_000,
    description: `jetplane_tokens r.<hash> of ${c.backend_id}'s token to be deleted`,
  });
}

describe('terminate', () => {
  for (const form of ['cluster', 'short'] as const) {
    it(`soft terminate (${form === 'cluster' ? '/ctrl/c/:cluster/b/:id' : '/ctrl/b/:id'}/soft-terminate) sends SIGTERM and ends terminated soft/external; the token is revoked`, async () => {
      const c = await jp.spawnReady({ key: { name: uniqueName(`soft-${form}`) }, spawn_config: jp.spawnConfig(), user: 'u' });
      const before = await jp.echo(c.token, '/before');
      expect(before.env.SESSION_BACKEND_ID).toBe(c.backend_id);

      const res = await jp.terminate(c.backend_id, 'soft', form);
      expect(res.status, res.body).toBe(200);

      const st = await jp.waitForStatus(c.backend_id, 'terminated', 40_000);
      expect(st.termination_kind).toBe('soft');
      expect(st.termination_reason).toBe('external');

      const line = await jp.waitForBackendOutput(c.backend_id, 'got SIGTERM');
      expect(line.json?.stream).toBe('stdout');
      await expectRevoked(c, before.env.PORT);
    });

    it(`hard terminate (${form === 'cluster' ? '/ctrl/c/:cluster/b/:id' : '/ctrl/b/:id'}/hard-terminate) ends terminated hard/external without SIGTERM`, async () => {
      const c = await jp.spawnReady({ key: { name: uniqueName(`hard-${form}`) }, spawn_config: jp.spawnConfig() });
      const before = await jp.echo(c.token, '/before');

      const res = await jp.terminate(c.backend_id, 'hard', form);
      expect(res.status, res.body).toBe(200);

      const st = await jp.waitForStatus(c.backend_id, 'terminated', 20_000);
      expect(st.termination_kind).toBe('hard');
      expect(st.termination_reason).toBe('external');
      // SIGKILL cannot be caught: the backend never printed its SIGTERM line.
      expect(jp.backendOutput(c.backend_id).filter((l) => l.raw.includes('got SIGTERM'))).toEqual([]);
      await expectRevoked(c, before.env.PORT);
    });
  }

  it('a soft terminate can be escalated to hard', async () => {
    // A backend that ignores SIGTERM: only the hard terminate can end it before the 30 s grace period.
    const c = await jp.spawnReady({
      key: { name: uniqueName('escalate') },
      spawn_config: jp.spawnConfig({ executable: { command: [process.execPath, STUBBORN_BACKEND] } }),
    });
    expect((await jp.terminate(c.backend_id, 'soft')).status).toBe(200);
    await jp.waitForStatus(c.backend_id, 'terminating', 10_000);
    await jp.waitForBackendOutput(c.backend_id, 'ignoring SIGTERM');
    expect((await jp.terminate(c.backend_id, 'hard')).status).toBe(200);
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 20_000);
    expect(st.termination_kind).toBe('hard');
  });

  it('unknown backend → 404 {id, kind: NotFound, message} in both forms', async () => {
    const unknown = uniqueName('ghost');
    for (const form of ['cluster', 'short'] as const) {
      for (const kind of ['soft', 'hard'] as const) {
        const res = await jp.terminate(unknown, kind, form);
        expect(res.status, `${form} ${kind}: ${res.body}`).toBe(404);
        const body = JSON.parse(res.body) as { id: string; kind: string; message: string };
        expect(body.kind).toBe('NotFound');
        expect(typeof body.id).toBe('string');
      }
    }
  });

  it('terminating a backend frees its key: the next connect spawns a new backend', async () => {
    const key = uniqueName('refree');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    expect((await jp.terminate(first.backend_id, 'hard')).status).toBe(200);
    await jp.waitForStatus(first.backend_id, 'terminated');
    const second = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() });
    expect(second.spawned).toBe(true);
    expect(second.backend_id).not.toBe(first.backend_id);
    // The listing shows the old backend terminated and the new one alive.
    const listing = await getJson(`${jp.controllerUrl}/ctrl/backends`);
    expect(listing.status).toBe(200);
    const rows = listOf<BackendListing>(listing.body);
    expect(rows.find((b) => b.id === first.backend_id)?.status).toBe('terminated');
    expect(rows.find((b) => b.id === second.backend_id)?.status).not.toBe('terminated');
  });
});
