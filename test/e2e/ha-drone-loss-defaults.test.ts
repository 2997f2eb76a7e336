/**
 * With DEFAULT timing (heartbeat 5 s, lost after 30 s, key lease 30/40/50/60 s), a key held by a backend
 * whose drone is SIGKILLed can be connected to again (spawned on another drone) within 90 s of the death.
 * The measured time is printed (`[measure] ...`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timing, respawnAfterDroneDeathMs } from '@jetplane/protocol';
import { startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';
import { backendPids, recordMeasurement } from './ha-support.js';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 2 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('drone loss with default timing', () => {
  it('the key re-spawns on the other drone within 90 s of the drone\'s death', { timeout: 150_000 }, async () => {
    const key = uniqueName('default-loss');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    const victim = jp.drones.find((d) => d.name === first.drone)!;
    victim.proc.kill('SIGKILL');
    await victim.proc.waitForExit(5_000);
    const killedAt = Date.now();
    await waitFor(async () => backendPids(first.backend_id).length === 0 || undefined, { timeoutMs: 5_000, intervalMs: 50, description: 'no orphan' });
    const again = await waitFor(
      async () => {
        const res = await jp.connect({ key: { name: key }, spawn_config: jp.spawnConfig() });
        return res.status === 200 && res.body.spawned ? res.body : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: 'the key to re-spawn elsewhere' },
    );
    const ms = Date.now() - killedAt;
    recordMeasurement('drone-loss', 'DEFAULT timing: drone SIGKILL → connect for its key spawns elsewhere', ms, {
      bound_ms: respawnAfterDroneDeathMs(Timing),
    });
    expect(ms).toBeLessThan(90_000);
    expect(again.drone).not.toBe(victim.name);
    expect((await jp.status(first.backend_id)).body).toMatchObject({ status: 'terminated', termination_reason: 'lost' });
  });
});
