/**
 * A drone cut off from NATS (the only nats-server it knows is SIGKILLed; the cluster's other two nodes
 * keep quorum and do not advertise themselves, so it cannot fail over) ends its own backends on its own
 * clock by the lease deadlines, before the controllers give the key to a new backend on another drone:
 * there are never two live backends for one key. When its server comes back it rejoins.
 * Short timing (ha-support FAST_TIMING): lease renew 1 s / soft 2.5 s / hard 3.5 s / expiry 5 s, lost 4 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDroneName, type DroneListing } from '@jetplane/protocol';
import { freePort, getJson, listOf, postJson, startComponent, stopAllProcesses, uniqueName, waitFor, type ManagedProcess } from '@jetplane/testing';
import { FAST_TIMING, backendPids, echoSpawn, moveLeadersOff, recordMeasurement, startPinnedNatsCluster, timingEnv, type PinnedCluster, type PinnedNode } from './ha-support.js';

let nats: PinnedCluster;
const procs: ManagedProcess[] = [];
let controllerUrl = '';
let proxyPort = 0;
let cluster = '';
const cutName = newDroneName();
const otherName = newDroneName();
let cutDrone: ManagedProcess;
/** The node the cut-off drone is pinned to (not the JetStream meta leader); the others serve everyone else. */
let cutNode: PinnedNode;
let mainUrls = '';

async function drone(name: string, natsUrl: string): Promise<ManagedProcess> {
  const proc = await startComponent(
    'drone',
    ['--nats', natsUrl, '--cluster', cluster, '--name', name, '--health-port', String(await freePort()), '--nats-replicas', '3'],
    timingEnv(),
    { name: `drone ${name}` },
  );
  procs.push(proc);
  return proc;
}

beforeAll(async () => {
  nats = await startPinnedNatsCluster(3);
  const metaLeader = await nats.waitForMetaLeader();
  cutNode = nats.nodes.find((n) => n.name !== metaLeader)!;
  mainUrls = nats.nodes.filter((n) => n !== cutNode).map((n) => n.url).join(',');
  proxyPort = await freePort();
  cluster = `localhost:${proxyPort}`;
  const controllerPort = await freePort();
  controllerUrl = `http://127.0.0.1:${controllerPort}`;
  procs.push(
    await startComponent('controller', ['--nats', mainUrls, '--host', '127.0.0.1', '--port', String(controllerPort), '--default-cluster', cluster, '--nats-replicas', '3'], timingEnv()),
  );
  procs.push(await startComponent('proxy', ['--nats', mainUrls, '--cluster', cluster, '--host', '127.0.0.1', '--port', String(proxyPort), '--nats-replicas', '3'], timingEnv()));
  cutDrone = await drone(cutName, cutNode.url);
  await waitFor(
    async () => listOf<DroneListing>((await getJson(`${controllerUrl}/ctrl/drones`)).body).some((d) => d.name === cutName && d.healthy) || undefined,
    { timeoutMs: 20_000, description: 'the drone to be schedulable' },
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(5_000)));
  await nats?.stop();
  await stopAllProcesses();
});

describe('drone cut off from NATS', () => {
  it('terminates its own backend by the lease deadline; the key moves to another drone only afterwards', { timeout: 90_000 }, async () => {
    const key = uniqueName('cut');
    const connect = () => postJson<{ backend_id: string; drone: string; spawned: boolean; token: string }>(`${controllerUrl}/ctrl/connect`, { key: { name: key }, spawn_config: echoSpawn(cluster) });
    const first = await connect();
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.drone).toBe(cutName);
    await waitFor(async () => backendPids(first.body.backend_id).length > 0 || undefined, { timeoutMs: 15_000, description: 'the backend process' });
    await waitFor(
      async () => ((await getJson<{ status: string }>(`${controllerUrl}/pub/b/${first.body.backend_id}/status`)).body.status === 'ready') || undefined,
      { timeoutMs: 15_000, description: 'the backend ready' },
    );
    // Another drone for the key to move to, reachable through the healthy nodes.
    await drone(otherName, mainUrls);
    // Cut the drone off without a JetStream fail-over for everyone else: no leader lives on its node.
    await moveLeadersOff(mainUrls.split(','), cutNode.name);

    await cutNode.kill('SIGKILL');
    const cutAt = Date.now();

    // The cut-off drone's backend dies on the drone's own clock: by the hard deadline after its last renewal.
    await waitFor(async () => backendPids(first.body.backend_id).length === 0 || undefined, {
      timeoutMs: FAST_TIMING.keyHardTerminateAfterMs! + 5_000,
      intervalMs: 50,
      description: 'the cut-off backend to be terminated by its drone',
    });
    const goneAfter = Date.now() - cutAt;
    recordMeasurement('partition', 'NATS cut → the drone has ended its backend', goneAfter, { hard_deadline_ms: FAST_TIMING.keyHardTerminateAfterMs });
    expect(goneAfter).toBeLessThanOrEqual(FAST_TIMING.keyHardTerminateAfterMs! + 1_500);

    // Meanwhile the key stays with the old backend until the drone is lost / the lease expired.
    const again = await waitFor(
      async () => {
        const res = await connect();
        if (res.status === 200 && res.body.spawned) return res.body;
        // Until then a connect answers the old backend (not yet known dead), never a second one.
        if (res.status === 200) expect(res.body.backend_id).toBe(first.body.backend_id);
        return undefined;
      },
      { timeoutMs: FAST_TIMING.keyExpirationMs! + 10_000, intervalMs: 100, description: 'the key to be re-spawned' },
    );
    const movedAfter = Date.now() - cutAt;
    recordMeasurement('partition', 'NATS cut → the key re-spawned on another drone', movedAfter);
    expect(again.drone).toBe(otherName);
    expect(movedAfter).toBeGreaterThan(goneAfter); // never two live backends for the key
    const old = await getJson<{ status: string; termination_reason?: string }>(`${controllerUrl}/pub/b/${first.body.backend_id}/status`);
    expect(old.body.status).toBe('terminated');
    expect(['lost', 'keyexpired']).toContain(old.body.termination_reason);

    // Its server comes back: the drone reconnects, is ready again, and still runs nothing of the old key.
    await cutNode.start();
    await waitFor(
      async () => listOf<DroneListing>((await getJson(`${controllerUrl}/ctrl/drones`)).body).some((d) => d.name === cutName && d.healthy && d.state === 'ready') || undefined,
      { timeoutMs: 30_000, intervalMs: 250, description: 'the cut-off drone to be ready again' },
    );
    recordMeasurement('partition', 'NATS node restarted → cut-off drone ready again', Date.now() - cutAt - movedAfter);
    expect(cutDrone.running).toBe(true);
    expect(backendPids(first.body.backend_id)).toEqual([]);
    const current = await connect();
    expect(current.body.backend_id).toBe(again.backend_id);
  });
});
