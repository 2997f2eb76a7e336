/**
 * The test harness itself: nats-server launchers (single node and 3-node cluster) and the process
 * registry, so a broken harness is reported as such rather than as a component bug.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats } from '@jetplane/nats';
import { isPortOpen, startNatsCluster, startNatsServer, stopAllProcesses, isAlive, identityOf, waitFor, type NatsCluster } from '@jetplane/testing';

afterAll(async () => {
  await stopAllProcesses();
});

describe('harness: nats-server', () => {
  it('starts a single JetStream server on loopback and stops it (process and port gone)', async () => {
    const server = await startNatsServer({ jetstream: true });
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const handle = await connectNats({ servers: [server.url], name: 'harness' });
    const reply = await handle.nc.request('$JS.API.INFO', '', { timeout: 5_000 });
    const info = JSON.parse(reply.string()) as { type?: string; error?: unknown };
    expect(info.error).toBeUndefined();
    await handle.close();
    const id = identityOf(server.pid);
    await server.stop();
    expect(id && isAlive(id)).toBeFalsy();
    expect(await isPortOpen(server.port)).toBe(false);
  });

  describe('3-node cluster', () => {
    let cluster: NatsCluster | undefined;
    afterAll(async () => {
      await cluster?.stop();
    });

    it('forms a JetStream cluster with a meta leader, survives the loss of one node and a restart', async () => {
      cluster = await startNatsCluster(3);
      expect(cluster.nodes).toHaveLength(3);
      const leader = await cluster.waitForMetaLeader();
      expect(['n1', 'n2', 'n3']).toContain(leader);

      const handle = await connectNats({ servers: cluster.urls.split(','), name: 'harness-cluster' });
      try {
        const addStream = async (name: string): Promise<{ error?: unknown; config?: { num_replicas?: number } }> => {
          const reply = await handle.nc.request(
            `$JS.API.STREAM.CREATE.${name}`,
            JSON.stringify({ name, subjects: [`${name.toLowerCase()}.>`], num_replicas: 3, storage: 'memory' }),
            { timeout: 10_000 },
          );
          return JSON.parse(reply.string()) as { error?: unknown; config?: { num_replicas?: number } };
        };
        const created = await addStream('PROBE_R3');
        expect(created.error).toBeUndefined();
        expect(created.config?.num_replicas).toBe(3);

        const victim = cluster.nodes.find((n) => n.name !== leader)!;
        await victim.kill('SIGKILL');
        expect(victim.proc).toBeUndefined();
        // The stream may need to elect a new leader first: retry short requests within a deadline.
        const info = await waitFor(
          async () => {
            const reply = await handle.nc.request('$JS.API.STREAM.INFO.PROBE_R3', '', { timeout: 2_000 });
            const parsed = JSON.parse(reply.string()) as { error?: unknown; cluster?: { leader?: string } };
            return parsed.error === undefined && parsed.cluster?.leader ? parsed : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 250, description: 'PROBE_R3 stream info with a leader after losing a node' },
        );
        expect(info.cluster?.leader).not.toBe(victim.name);

        await victim.restart();
        expect(await isPortOpen(victim.port)).toBe(true);
        expect(await cluster.waitForMetaLeader()).toMatch(/^n[123]$/);
      } finally {
        await handle.close();
      }
    });
  });
});
