/**
 * Any component can be killed and restarted and rebuilds its view from JetStream: tokens keep
 * routing after a proxy restart, keys and statuses survive a controller restart, and a drone
 * restarted under its name ends its predecessor's backends and takes new ones (architecture).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('restarting components', () => {
  it('proxy SIGKILL + restart: existing tokens route again', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('px') }, spawn_config: jp.spawnConfig(), user: 'before' });
    await jp.echo(c.token, '/one');
    await jp.restartProxy('SIGKILL');
    const reply = await jp.echo(c.token, '/two');
    expect(reply.path).toBe('/two');
    expect(reply.headers['x-verified-username']).toBe('before');
    expect(reply.headers['x-verified-secret']).toBe(c.secret_token);
  });

  it('controller SIGKILL + restart: a held key returns the same backend and the status stream replays', async () => {
    const key = uniqueName('ctl');
    const c = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    await jp.restartController(0, 'SIGKILL');
    const again = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() });
    expect(again.spawned).toBe(false);
    expect(again.backend_id).toBe(c.backend_id);
    const sse = await openSse(`${jp.controllerUrl}/pub/b/${c.backend_id}/status-stream`);
    try {
      await sse.waitFor((e) => e.id === 'ready');
      expect(sse.events.map((e) => e.id)).toEqual(['scheduled', 'loading', 'starting', 'waiting', 'ready']);
    } finally {
      sse.close();
    }
    // And new work is scheduled: the restarted controller found the drone again.
    const fresh = await waitFor(
      async () => {
        const res = await jp.connect({ key: { name: uniqueName('ctl-new') }, spawn_config: jp.spawnConfig() });
        if (res.status === 500 && res.body.kind === 'NoDroneAvailable') return undefined;
        return res;
      },
      { timeoutMs: 15_000, description: 'the restarted controller to schedule on the drone' },
    );
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    await jp.waitForStatus(fresh.body.backend_id, 'ready');
  });

  it('drone SIGKILL + restart under the same name: the old backend ends terminated, its key is free, new backends run', async () => {
    const key = uniqueName('dr');
    const old = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    await jp.restartDrone(0, 'SIGKILL');

    const st = await jp.waitForStatus(old.backend_id, 'terminated', 30_000);
    expect(st.status).toBe('terminated');
    await jp.waitForTokenRefused(old.token);

    const next = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    expect(next.spawned).toBe(true);
    expect(next.backend_id).not.toBe(old.backend_id);
    expect(next.drone).toBe(jp.drones[0]!.name);
    expect((await jp.echo(next.token, '/')).env.SESSION_BACKEND_ID).toBe(next.backend_id);
  });
});
