/**
 * Components exit 0 on SIGTERM after a graceful shutdown, and stopping a drone stops its backends
 * (contract §2; architecture: Drone flow).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, isPortOpen, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('graceful shutdown', () => {
  it('SIGTERM: proxy, drone (with its backends) and controller exit 0; the drone ends its backends', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('shutdown') }, spawn_config: jp.spawnConfig() });
    const backendPort = Number((await jp.echo(c.token, '/')).env.PORT);
    const drone = jp.drones[0]!;
    const backends = drone.proc.descendants();
    expect(backends.length).toBeGreaterThanOrEqual(1);

    const proxyExit = await jp.proxy.stop(15_000);
    expect(proxyExit, jp.proxy.output(20)).toEqual({ code: 0, signal: null });

    const droneExit = await drone.proc.stop(40_000);
    expect(droneExit, drone.proc.output(20)).toEqual({ code: 0, signal: null });
    await waitFor(() => backends.every((b) => !isAlive(b)) || undefined, { timeoutMs: 5_000, description: 'the backend processes to be gone' });
    expect(await isPortOpen(backendPort)).toBe(false);
    // The drone recorded the end of its backend before leaving.
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 10_000);
    expect(st.status).toBe('terminated');

    const controllerExit = await jp.controller.stop(15_000);
    expect(controllerExit, jp.controller.output(20)).toEqual({ code: 0, signal: null });
  });
});
