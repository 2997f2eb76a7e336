/**
 * On a 3-node NATS cluster (`--nats url1,url2,url3 --nats-replicas 3`) JetPlane keeps its state
 * replicated and keeps working when a node dies (contract §2 `--nats` list, §6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Buckets, Streams, workConsumerName } from '@jetplane/protocol';
import { startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;
/** How long a spawn may take to start after a NATS node failover (a user is waiting on it). */
const SPAWN_AFTER_FAILOVER_MS = 20_000;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1, natsNodes: 3 });
}, 90_000);

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('JetPlane on a 3-node NATS cluster', () => {
  it('creates every stream and bucket with 3 replicas', async () => {
    const { jp: handle } = await jp.inspector();
    for (const name of [Streams.events, Streams.work, ...Object.values(Buckets).map((b) => `KV_${b}`)]) {
      const info = await handle.streams.jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
    }
  });

  it('keeps routing and spawning after the node leading the drone\'s work consumer is killed, and after it comes back', { timeout: 120_000 }, async () => {
    const before = await jp.spawnReady({ key: { name: uniqueName('pre') }, spawn_config: jp.spawnConfig() });
    // The harshest single-node loss for spawning: the node leading the drone's work consumer.
    const { jp: handle } = await jp.inspector();
    const consumer = await handle.streams.jsm.consumers.info(Streams.work, workConsumerName(jp.drones[0]!.name));
    const victim = jp.natsCluster!.nodes.find((n) => n.name === consumer.cluster?.leader);
    expect(victim, `consumer leader ${consumer.cluster?.leader}`).toBeDefined();
    await victim!.kill('SIGKILL');

    // Existing routes keep working (the proxy reconnects to another node if it was on the victim).
    const reply = await waitFor(
      async () => {
        const r = await jp.proxyRequest(before.token, '/during');
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the proxy to route while a NATS node is down' },
    );
    expect(JSON.parse(reply.body)).toMatchObject({ path: '/during' });

    // New connects succeed once JetStream has re-elected leaders (bounded retry).
    const during = await waitFor(
      async () => {
        const res = await jp.connect({ key: { name: uniqueName('during') }, spawn_config: jp.spawnConfig() });
        return res.status === 200 ? res.body : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, description: 'a connect to succeed with one NATS node down' },
    );
    // The spawn work is in JETPLANE_WORK: the drone must pick it up promptly on the new leader.
    await jp.waitForStatus(during.backend_id, 'ready', SPAWN_AFTER_FAILOVER_MS);
    expect((await jp.echo(during.token, '/x')).env.SESSION_BACKEND_ID).toBe(during.backend_id);

    await victim!.restart();
    await jp.natsCluster!.waitForMetaLeader();
    const after = await waitFor(
      async () => {
        const res = await jp.connect({ key: { name: uniqueName('after') }, spawn_config: jp.spawnConfig() });
        return res.status === 200 ? res.body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'a connect to succeed after the node came back' },
    );
    await jp.waitForStatus(after.backend_id, 'ready', 30_000);
    for (const url of [jp.controllerUrl, jp.proxyHealthUrl, jp.drones[0]!.healthUrl]) {
      await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200 || undefined, { timeoutMs: 20_000, description: `${url}/healthz` });
    }
  });
});
