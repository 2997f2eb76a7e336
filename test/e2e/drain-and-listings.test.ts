/**
 * Drain (HTTP and NATS): a drained drone takes no new backends while its running ones keep
 * serving; the drone and backend listings reflect it and honour their filters (contract §3, §6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '@jetplane/nats';
import { Subjects, type BackendListing, type ConnectResponse, type DroneListing } from '@jetplane/protocol';
import { getJson, httpRequest, listOf, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;
const POOL = 'blue';

beforeAll(async () => {
  jp = await startJetPlane({ drones: 2, pools: [POOL, POOL] });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

async function drones(query = ''): Promise<DroneListing[]> {
  const res = await getJson(`${jp.controllerUrl}/ctrl/drones${query}`);
  expect(res.status).toBe(200);
  return listOf<DroneListing>(res.body);
}

async function backends(query = ''): Promise<BackendListing[]> {
  const res = await getJson(`${jp.controllerUrl}/ctrl/backends${query}`);
  expect(res.status).toBe(200);
  return listOf<BackendListing>(res.body);
}

const spawnBlue = (): Promise<ConnectResponse> => jp.connectOk({ key: { name: uniqueName('blue') }, spawn_config: jp.spawnConfig({ pool: POOL }) });

describe('listings', () => {
  it('GET /ctrl/drones lists both drones with their cluster, pool and state, and filters', async () => {
    const all = await drones();
    expect(all.map((d) => d.name).sort()).toEqual(jp.drones.map((d) => d.name).sort());
    for (const d of all) {
      expect(d.cluster).toBe(jp.cluster);
      expect(d.pool).toBe(POOL);
      expect(d.state).toBe('ready');
      expect(d.healthy).toBe(true);
      expect(d.executors).toContain('process');
    }
    expect(await drones(`?pool=${POOL}`)).toHaveLength(2);
    expect(await drones('?pool=other')).toEqual([]);
    expect(await drones(`?cluster=${encodeURIComponent(jp.cluster)}`)).toHaveLength(2);
    expect(await drones('?cluster=elsewhere.example')).toEqual([]);
  });

  it('GET /ctrl/backends lists backends with their key and status, and filters by state', async () => {
    const key = uniqueName('listed');
    const c = await jp.spawnReady({ key: { name: key, namespace: 'ns1' }, spawn_config: jp.spawnConfig({ pool: POOL }) });
    const row = (await backends()).find((b) => b.id === c.backend_id);
    expect(row).toMatchObject({ id: c.backend_id, cluster: jp.cluster, pool: POOL, drone: c.drone, status: 'ready', key: { namespace: 'ns1', name: key } });
    expect((await backends('?state=ready')).some((b) => b.id === c.backend_id)).toBe(true);
    expect((await backends('?state=terminated')).some((b) => b.id === c.backend_id)).toBe(false);
    expect((await backends('?pool=other')).some((b) => b.id === c.backend_id)).toBe(false);
  });
});

describe('drain', () => {
  it('a drained drone gets no new backends; its running backends keep serving; NATS drain works too; then NoDroneAvailable', async () => {
    // Get a backend running on each drone (scheduling is least-loaded, so a few spawns cover both).
    const placed = new Map<string, ConnectResponse>();
    for (let i = 0; i < 10 && placed.size < 2; i++) {
      const c = await spawnBlue();
      if (c.drone && !placed.has(c.drone)) placed.set(c.drone, c);
    }
    expect(placed.size).toBe(2);
    const [first, second] = jp.drones;
    const onFirst = placed.get(first!.name)!;
    await jp.waitForStatus(onFirst.backend_id, 'ready');

    const res = await httpRequest(`${jp.controllerUrl}/ctrl/c/${encodeURIComponent(jp.cluster)}/d/${first!.name}/drain`, { method: 'POST' });
    expect(res.status, res.body).toBe(200);
    expect((await drones()).find((d) => d.name === first!.name)?.state).toBe('draining');
    expect((await drones('?state=draining')).map((d) => d.name)).toEqual([first!.name]);

    for (let i = 0; i < 4; i++) expect((await spawnBlue()).drone).toBe(second!.name);
    // The drained drone's backend still serves.
    expect((await jp.echo(onFirst.token, '/still')).path).toBe('/still');

    const nats = await connectNats({ servers: jp.natsUrl.split(','), name: 'jetplane-e2e-drain' });
    try {
      const reply = await nats.nc.request(Subjects.drain, JSON.stringify({ cluster: jp.cluster, drone: second!.name }), { timeout: 10_000 });
      const body = JSON.parse(reply.string()) as { error?: unknown };
      expect(body.error, reply.string()).toBeUndefined();
    } finally {
      await nats.close();
    }
    expect((await drones()).find((d) => d.name === second!.name)?.state).toBe('draining');

    const none = await jp.connect({ key: { name: uniqueName('none') }, spawn_config: jp.spawnConfig({ pool: POOL }) });
    expect(none.status, JSON.stringify(none.body)).toBe(500);
    expect(none.body.kind).toBe('NoDroneAvailable');
  });

  it('draining an unknown drone → 404 NotFound', async () => {
    const res = await httpRequest(`${jp.controllerUrl}/ctrl/c/${encodeURIComponent(jp.cluster)}/d/dr-nosuchdrone/drain`, { method: 'POST' });
    expect(res.status, res.body).toBe(404);
    expect((JSON.parse(res.body) as { kind: string }).kind).toBe('NotFound');
  });
});
