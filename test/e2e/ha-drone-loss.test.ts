/**
 * Drone loss with short timing (ha-support FAST_TIMING: heartbeat 0.5 s, unhealthy 2 s, lost 4 s, key
 * lease expiry 5 s): a SIGKILLed drone leaves no backend process behind, gets no new work once unhealthy,
 * is marked lost (`drone.lost`, once), its backend ends `lost` (tokens revoked, key freed) and a connect
 * for the same key spawns on the other drone within the lease window, with a larger fencing token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DroneListing } from '@jetplane/protocol';
import { getJson, listOf, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';
import { FAST_TIMING, backendPids, liveness, recordMeasurement, timingEnv } from './ha-support.js';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 2, env: timingEnv() });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('drone SIGKILL', () => {
  it('backend lost, no orphan, key re-spawned on the other drone within the lease window', { timeout: 60_000 }, async () => {
    const key = uniqueName('lossy');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    const firstEnv = (await jp.echo(first.token, '/')).env;
    const victim = jp.drones.find((d) => d.name === first.drone)!;
    const survivor = jp.drones.find((d) => d.name !== first.drone)!;
    expect(backendPids(first.backend_id).length).toBeGreaterThan(0);

    victim.proc.kill('SIGKILL');
    await victim.proc.waitForExit(5_000);
    const killedAt = Date.now();

    // No orphan: the backend's process group died with its drone (dead-man's switch).
    await waitFor(async () => backendPids(first.backend_id).length === 0 || undefined, { timeoutMs: 3_000, intervalMs: 50, description: 'the backend process to die with its drone' });
    recordMeasurement('drone-loss', 'drone SIGKILL → its backend processes gone', Date.now() - killedAt);

    // Asking the dead drone why the backend is alive: 503, bounded by the inspect timeout.
    const asked = await liveness(jp.controllerUrl, first.backend_id);
    expect(asked.status).toBe(503);
    expect(asked.body.kind).toBe('Unavailable');

    // Unhealthy: no new work for it.
    await waitFor(
      async () => {
        const listed = listOf<DroneListing>((await getJson(`${jp.controllerUrl}/ctrl/drones`)).body).find((d) => d.name === victim.name);
        return listed?.healthy === false || undefined;
      },
      { timeoutMs: FAST_TIMING.droneUnhealthyAfterMs! + 5_000, intervalMs: 100, description: `${victim.name} unhealthy` },
    );
    recordMeasurement('drone-loss', 'drone SIGKILL → listed unhealthy', Date.now() - killedAt);

    // Re-spawn: poll a connect for the same key until it spawns a new backend.
    const again = await waitFor(
      async () => {
        const res = await jp.connect({ key: { name: key }, spawn_config: jp.spawnConfig() });
        return res.status === 200 && res.body.spawned ? res.body : undefined;
      },
      { timeoutMs: FAST_TIMING.keyExpirationMs! + 10_000, intervalMs: 100, description: 'a connect for the key to spawn anew' },
    );
    const respawnMs = Date.now() - killedAt;
    recordMeasurement('drone-loss', 'drone SIGKILL → connect for its key spawns elsewhere', respawnMs, { lost_after_ms: FAST_TIMING.droneLostAfterMs, key_expiration_ms: FAST_TIMING.keyExpirationMs });
    expect(again.drone).toBe(survivor.name);
    expect(again.backend_id).not.toBe(first.backend_id);
    // Within the lease window (lost at 4 s, lease expiry 5 s), plus sweep and scheduling slack.
    expect(respawnMs).toBeLessThan(FAST_TIMING.keyExpirationMs! + 3_000);

    const old = await jp.status(first.backend_id);
    expect(old.body).toMatchObject({ status: 'terminated', termination_reason: 'lost' });
    expect([404, 410]).toContain((await jp.proxyRequest(first.token, '/')).status);

    await jp.waitForStatus(again.backend_id, 'ready');
    const secondEnv = (await jp.echo(again.token, '/')).env;
    expect(Number(secondEnv.SESSION_BACKEND_FENCING_TOKEN)).toBeGreaterThan(Number(firstEnv.SESSION_BACKEND_FENCING_TOKEN));

    const drones = listOf<DroneListing>((await getJson(`${jp.controllerUrl}/ctrl/drones`)).body);
    expect(drones.find((d) => d.name === victim.name)?.state).toBe('lost');
    const inspector = await jp.inspector();
    const events = await inspector.waitForEvents((all) => all.some((e) => e.event.type === 'drone.lost'), 10_000, 'a drone.lost event');
    expect(events.filter((e) => e.event.type === 'drone.lost' && 'drone' in e.event && e.event.drone === victim.name)).toHaveLength(1);
    expect(events.some((e) => e.event.type === 'token.revoked' && e.event.backend_id === first.backend_id)).toBe(true);
  });

  it('the lost drone restarted under its name comes back ready and takes work again', { timeout: 60_000 }, async () => {
    const index = jp.drones.findIndex((d) => !d.proc.running);
    expect(index).toBeGreaterThanOrEqual(0);
    await jp.restartDrone(index, 'SIGKILL');
    const drones = listOf<DroneListing>((await getJson(`${jp.controllerUrl}/ctrl/drones`)).body);
    expect(drones.find((d) => d.name === jp.drones[index]!.name)).toMatchObject({ state: 'ready', healthy: true });
  });
});
