/**
 * A drone that stops heartbeating (SIGKILL, never restarted) gets no new work once unhealthy, and
 * once lost its backends end `terminated` with reason `lost` and their keys are free
 * (contract §3 reasons; protocol Timing.droneUnhealthyAfterMs / droneLostAfterMs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timing, type DroneListing } from '@jetplane/protocol';
import { getJson, listOf, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 2, pools: ['lossy', undefined] });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('drone loss', () => {
  it(
    'a SIGKILLed drone is marked unhealthy, then lost: its backend ends terminated (lost) and its key is free',
    { timeout: Timing.droneLostAfterMs + 60_000 },
    async () => {
      const lossy = jp.drones[0]!;
      const key = uniqueName('orphan');
      const c = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig({ pool: 'lossy' }) });
      expect(c.drone).toBe(lossy.name);
      lossy.proc.kill('SIGKILL');
      await lossy.proc.waitForExit(5_000);
      const killedAt = Date.now();

      // Unhealthy: no new work for it.
      await waitFor(
        async () => {
          const listed = listOf<DroneListing>((await getJson(`${jp.controllerUrl}/ctrl/drones`)).body).find((d) => d.name === lossy.name);
          return listed === undefined || listed.healthy === false || undefined;
        },
        { timeoutMs: Timing.droneUnhealthyAfterMs + 10_000, intervalMs: 500, description: `${lossy.name} listed unhealthy` },
      );
      const refused = await jp.connect({ key: { name: uniqueName('nowhere') }, spawn_config: jp.spawnConfig({ pool: 'lossy' }) });
      expect(refused.status, JSON.stringify(refused.body)).toBe(500);
      expect(refused.body.kind).toBe('NoDroneAvailable');

      // Lost: the backend is ended for it.
      const st = await jp.waitForStatus(c.backend_id, 'terminated', Timing.droneLostAfterMs + 30_000 - (Date.now() - killedAt));
      expect(st.termination_reason).toBe('lost');
      const again = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() });
      expect(again.spawned).toBe(true);
      expect(again.drone).toBe(jp.drones[1]!.name);
    },
  );
});
