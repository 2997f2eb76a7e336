/**
 * Docker backends across drone restarts (reference §8.10, adapted): a drone that crashes leaves its
 * containers running and adopts them when it comes back under the same name (the sessions survive);
 * a drone that stops gracefully takes its containers down. Either way no container is left behind
 * once its backend has ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendLogEntry } from '@jetplane/protocol';
import { openSse, startJetPlane, stopAllProcesses, type JetPlaneEnv } from '@jetplane/testing';
import { buildTestImage, containersWithLabel, dockerDroneArgs, dockerUnavailableReason, inspectContainer, removeDroneContainers } from '../../libs/testing/src/docker.js';

const unavailable = await dockerUnavailableReason();
// CI sets JETPLANE_REQUIRE_DOCKER=1: there a missing daemon is a failure, not a skip.
if (unavailable && process.env.JETPLANE_REQUIRE_DOCKER === '1') throw new Error(`JETPLANE_REQUIRE_DOCKER=1 but ${unavailable}`);
if (unavailable) console.warn(`docker restart e2e tests skipped: ${unavailable}`);

let jp: JetPlaneEnv;
let image: string;

beforeAll(async () => {
  if (unavailable) return;
  image = await buildTestImage();
  jp = await startJetPlane({ drones: 1, executor: 'docker', droneArgs: dockerDroneArgs() });
}, 180_000);

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
  if (jp) await removeDroneContainers(jp.drones.map((d) => d.name));
});

function dockerSpawn(): Record<string, unknown> {
  return { cluster: jp.cluster, executable: { image, env: { HOST: '127.0.0.1' } } };
}

async function storedLines(backendId: string): Promise<string[]> {
  const sse = await openSse(`${jp.controllerUrl}/ctrl/b/${backendId}/logs`);
  await sse.waitForEnd(10_000);
  return sse.events.filter((e) => e.event === 'message').map((e) => (JSON.parse(e.data) as BackendLogEntry).line);
}

if (unavailable) {
  describe('docker executor across drone restarts (skipped)', () => {
    it.skip(`needs a Docker daemon: ${unavailable}`, () => undefined);
  });
}

describe.skipIf(Boolean(unavailable))('docker executor across drone restarts', () => {
  it('a drone killed and restarted adopts its running container: still ready, routable, logging; removed once terminated', async () => {
    const c = await jp.spawnReady({ spawn_config: dockerSpawn() }, 30_000);
    const before = await inspectContainer(`jetplane-${c.backend_id}`);
    expect(before?.State.Running).toBe(true);

    await jp.restartDrone(0, 'SIGKILL');
    const after = await inspectContainer(`jetplane-${c.backend_id}`);
    expect(after?.Id).toBe(before?.Id);
    expect((await jp.status(c.backend_id)).body.status).toBe('ready');
    expect((await jp.echo(c.token, '/after-restart')).path).toBe('/after-restart');

    await jp.proxyRequest(c.token, '/print/after-adoption');
    await expect.poll(() => storedLines(c.backend_id), { timeout: 10_000 }).toContain('after-adoption');

    await jp.terminate(c.backend_id, 'soft');
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 20_000);
    expect(st).toMatchObject({ termination_kind: 'soft', exit_code: 0 });
    expect(await inspectContainer(`jetplane-${c.backend_id}`)).toBeUndefined();
  });

  it('a terminate sent while the drone was down is carried out after it comes back', async () => {
    const c = await jp.spawnReady({ spawn_config: dockerSpawn() }, 30_000);
    const drone = jp.drones[0]!;
    drone.proc.kill('SIGKILL');
    await drone.proc.waitForExit(10_000);
    expect((await jp.terminate(c.backend_id, 'hard')).status).toBe(200);
    expect((await inspectContainer(`jetplane-${c.backend_id}`))?.State.Running).toBe(true);

    await jp.restartDrone(0, 'SIGKILL');
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 20_000);
    expect(st).toMatchObject({ termination_kind: 'hard', termination_reason: 'external', exit_code: 137 });
    expect(await inspectContainer(`jetplane-${c.backend_id}`)).toBeUndefined();
  });

  it('a drone stopped gracefully takes its containers down (backends end lost); nothing is left behind', async () => {
    const a = await jp.spawnReady({ spawn_config: dockerSpawn() }, 30_000);
    const b = await jp.spawnReady({ spawn_config: dockerSpawn() }, 30_000);
    await jp.restartDrone(0, 'SIGTERM');
    for (const c of [a, b]) {
      const st = (await jp.status(c.backend_id)).body;
      expect(st).toMatchObject({ status: 'terminated', termination_reason: 'lost' });
      expect(await inspectContainer(`jetplane-${c.backend_id}`)).toBeUndefined();
    }
    expect(await containersWithLabel(`dev.jetplane.drone=${jp.drones[0]!.name}`)).toEqual([]);
  });
});
