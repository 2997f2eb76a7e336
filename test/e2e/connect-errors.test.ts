/**
 * Connect errors and pool scheduling: KeyHeld on a tag mismatch, KeyUnheldNoSpawnConfig for a
 * key-only connect to a free key, NoDroneAvailable when no drone serves the pool or cluster
 * (reference §3.5, contract §3 error bodies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;
const GPU_POOL = 'gpu';

beforeAll(async () => {
  jp = await startJetPlane({ drones: 2, pools: [undefined, GPU_POOL] });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

function expectApiError(res: { status: number; body: unknown }, status: number, kind: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { id?: unknown; kind?: unknown; message?: unknown };
  expect(body.kind).toBe(kind);
  expect(typeof body.id).toBe('string');
  expect(String(body.id).length).toBeGreaterThan(0);
  expect(typeof body.message).toBe('string');
  expect(String(body.message).length).toBeGreaterThan(0);
}

describe('connect errors', () => {
  it('tag mismatch on a held key → 409 KeyHeld; the same tag gets the backend', async () => {
    const key = uniqueName('tag');
    const first = await jp.connectOk({ key: { name: key, tag: 'v1' }, spawn_config: jp.spawnConfig() });
    expect(first.spawned).toBe(true);

    expectApiError(await jp.connect({ key: { name: key, tag: 'v2' }, spawn_config: jp.spawnConfig() }), 409, 'KeyHeld');
    // No tag means the empty tag, which differs too.
    expectApiError(await jp.connect({ key: { name: key }, spawn_config: jp.spawnConfig() }), 409, 'KeyHeld');

    const same = await jp.connectOk({ key: { name: key, tag: 'v1' }, spawn_config: jp.spawnConfig() });
    expect(same.spawned).toBe(false);
    expect(same.backend_id).toBe(first.backend_id);
  });

  it('key-only connect to a key nobody holds → 409 KeyUnheldNoSpawnConfig', async () => {
    expectApiError(await jp.connect({ key: { name: uniqueName('missing') } }), 409, 'KeyUnheldNoSpawnConfig');
  });

  it('neither key nor spawn_config → 409 KeyUnheldNoSpawnConfig', async () => {
    expectApiError(await jp.connect({}), 409, 'KeyUnheldNoSpawnConfig');
  });

  it('a pool no drone serves → 500 NoDroneAvailable, and no key is left held', async () => {
    const key = uniqueName('nopool');
    expectApiError(await jp.connect({ key: { name: key }, spawn_config: jp.spawnConfig({ pool: 'nowhere' }) }), 500, 'NoDroneAvailable');
    // The failed attempt did not take the key: a key-only connect still finds it free.
    expectApiError(await jp.connect({ key: { name: key } }), 409, 'KeyUnheldNoSpawnConfig');
  });

  it('a cluster no drone serves → 500 NoDroneAvailable', async () => {
    expectApiError(
      await jp.connect({ key: { name: uniqueName('nocluster') }, spawn_config: jp.spawnConfig({ cluster: 'nowhere.example:1234' }) }),
      500,
      'NoDroneAvailable',
    );
  });

  it('pools: spawns land on a drone of the requested pool only', async () => {
    const gpuDrone = jp.drones.find((d) => d.pool === GPU_POOL)!;
    const defaultDrone = jp.drones.find((d) => d.pool === undefined)!;
    for (let i = 0; i < 3; i++) {
      const gpu = await jp.connectOk({ key: { name: uniqueName('gpu') }, spawn_config: jp.spawnConfig({ pool: GPU_POOL }) });
      expect(gpu.drone).toBe(gpuDrone.name);
      const plain = await jp.connectOk({ key: { name: uniqueName('plain') }, spawn_config: jp.spawnConfig() });
      expect(plain.drone).toBe(defaultDrone.name);
    }
  });
});
