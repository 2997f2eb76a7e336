/**
 * The docker executor against a real Docker daemon (contract §4, reference §8.6–8.9): a backend
 * spawned from a locally built image (no registry) routes through the proxy with the verified headers
 * and its environment, runs under its resource limits, reports CPU/memory, has its output in
 * JetStream (readable during and after its life), stops on SIGTERM (soft) or SIGKILL (hard), reports
 * its exit code, and is removed once it ended. Host networking on 127.0.0.1 only.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendListing, BackendLogEntry, StatusEntry } from '@jetplane/protocol';
import { getJson, httpRequest, listOf, openSse, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv, type SseStream } from '@jetplane/testing';
import { buildTestImage, dockerDroneArgs, dockerUnavailableReason, inspectContainer, removeDroneContainers } from '../../libs/testing/src/docker.js';
import { readLogs } from '../../apps/cli/src/commands/logs.js';

const unavailable = await dockerUnavailableReason();
// CI sets JETPLANE_REQUIRE_DOCKER=1: there a missing daemon is a failure, not a skip.
if (unavailable && process.env.JETPLANE_REQUIRE_DOCKER === '1') throw new Error(`JETPLANE_REQUIRE_DOCKER=1 but ${unavailable}`);
if (unavailable) console.warn(`docker executor e2e tests skipped: ${unavailable}`);

let jp: JetPlaneEnv;
let image: string;
let mountBase: string;

beforeAll(async () => {
  if (unavailable) return;
  image = await buildTestImage();
  mountBase = mkdtempSync(join(tmpdir(), 'jetplane-mounts-'));
  jp = await startJetPlane({
    drones: 1,
    executor: 'process,docker',
    droneArgs: [...dockerDroneArgs(), '--soft-terminate-grace-seconds', '4', '--mount-base', mountBase],
  });
}, 180_000);

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
  if (jp) await removeDroneContainers(jp.drones.map((d) => d.name));
  if (mountBase) rmSync(mountBase, { recursive: true, force: true });
});

/** A docker executable of the test image; it listens on 127.0.0.1 (host networking). */
function dockerSpawn(extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Record<string, unknown> {
  return { cluster: jp.cluster, executable: { image, env: { HOST: '127.0.0.1', ...env }, ...extra } };
}

/** The whole stored output of a backend (non-follow SSE, which ends by itself). */
async function storedLogs(backendId: string): Promise<BackendLogEntry[]> {
  const sse = await openSse(`${jp.controllerUrl}/ctrl/b/${backendId}/logs`);
  expect(sse.status, sse.body).toBe(200);
  await sse.waitForEnd(10_000);
  expect(sse.events.at(-1)?.event).toBe('end');
  return sse.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as BackendLogEntry);
}

function hasLine(events: SseStream['events'], text: string): boolean {
  return events.some((e) => e.event === 'message' && (JSON.parse(e.data) as BackendLogEntry).line.includes(text));
}

if (unavailable) {
  describe('docker executor (skipped)', () => {
    it.skip(`needs a Docker daemon: ${unavailable}`, () => undefined);
  });
}

describe.skipIf(Boolean(unavailable))('docker executor', () => {
  it('spawns from an image, routes through the proxy with the verified headers and env, applies the resource limits, reports stats', async () => {
    const key = uniqueName('docker');
    // disk_limit_bytes needs overlay on xfs with pquota: elsewhere the drone drops it (with a warning).
    const limits = { memory_limit_bytes: 64 * 1024 * 1024, cpu_period: 100_000, cpu_period_percent: 50, cpu_time_limit: 100, disk_limit_bytes: 1_000_000_000 };
    const c = await jp.spawnReady({ key: { name: key }, spawn_config: dockerSpawn({ resource_limits: limits }, { TEST_MARKER: 'm-1' }), user: 'alice' }, 30_000);
    expect(c.drone).toBe(jp.drones[0]!.name);

    const reply = await jp.echo(c.token, '/hello?x=1');
    expect(reply.path).toBe('/hello?x=1');
    expect(reply.headers['x-verified-username']).toBe('alice');
    expect(reply.headers['x-verified-secret']).toBe(c.secret_token);
    expect(reply.headers['x-verified-backend']).toBe(c.backend_id);
    expect(reply.env.SESSION_BACKEND_ID).toBe(c.backend_id);
    expect(reply.env.SESSION_BACKEND_KEY).toBe(key);
    expect(reply.env.SESSION_BACKEND_FENCING_TOKEN).toMatch(/^[0-9]+$/);
    expect(reply.env.PORT).toMatch(/^[0-9]+$/);
    expect(reply.env.TEST_MARKER).toBe('m-1');

    const container = await inspectContainer(`jetplane-${c.backend_id}`);
    expect(container?.State.Running).toBe(true);
    expect(container?.Config.Labels?.['dev.jetplane.backend']).toBe(c.backend_id);
    expect(container?.Config.Labels?.['dev.jetplane.drone']).toBe(jp.drones[0]!.name);
    expect(container?.HostConfig.NetworkMode).toBe('host');
    expect(container?.HostConfig.Memory).toBe(limits.memory_limit_bytes);
    expect(container?.HostConfig.CpuPeriod).toBe(100_000);
    expect(container?.HostConfig.CpuQuota).toBe(50_000);
    expect(container?.HostConfig.Ulimits).toEqual([{ Name: 'cpu', Soft: 100, Hard: 100 }]);

    // CPU/memory every few seconds: in the status, the listing and the controller's metrics.
    const status = await waitFor(
      async () => {
        const s = (await jp.status(c.backend_id)).body as StatusEntry;
        return s.stats ? s : undefined;
      },
      { timeoutMs: 25_000, intervalMs: 500, description: 'stats in the backend status' },
    );
    expect(status.stats!.memory_bytes).toBeGreaterThan(0);
    expect(status.stats!.memory_limit_bytes).toBe(limits.memory_limit_bytes);
    expect(status.stats!.cpu_percent).toBeGreaterThanOrEqual(0);
    const row = listOf<BackendListing>((await getJson(`${jp.controllerUrl}/ctrl/backends`)).body).find((b) => b.id === c.backend_id);
    expect(row?.stats?.memory_bytes).toBeGreaterThan(0);
    const metrics = (await httpRequest(`${jp.controllerUrl}/metrics`)).body;
    expect(metrics).toMatch(new RegExp(`jetplane_backend_memory_bytes\\{backend_id="${c.backend_id}",drone="${jp.drones[0]!.name}"[^}]*\\} [1-9]`));

    await jp.terminate(c.backend_id, 'hard');
    await jp.waitForStatus(c.backend_id, 'terminated', 15_000);
    expect((await jp.status(c.backend_id)).body.stats).toBeUndefined();
  });

  it('logs: stdout and stderr in JetStream, followed live, readable after a soft terminate (SIGTERM); the container is removed', async () => {
    const c = await jp.spawnReady({ spawn_config: dockerSpawn() }, 30_000);
    const follow = await openSse(`${jp.controllerUrl}/ctrl/c/${encodeURIComponent(jp.cluster)}/b/${c.backend_id}/logs?follow=true`);
    try {
      expect(follow.status, follow.body).toBe(200);
      await follow.waitFor((e) => hasLine([e], 'listening on 127.0.0.1'), 10_000);
      await follow.waitFor((e) => hasLine([e], 'stderr is connected too'), 10_000);
      await jp.proxyRequest(c.token, '/print/line-from-test');
      const live = await follow.waitFor((e) => hasLine([e], 'err:line-from-test'), 10_000);
      const entry = JSON.parse(live.data) as BackendLogEntry;
      expect(entry).toMatchObject({ backend_id: c.backend_id, stream: 'stderr', line: 'err:line-from-test' });
      expect(live.id).toBe(String(entry.seq));
      expect(Math.abs(entry.time - Date.now())).toBeLessThan(60_000);

      expect((await jp.terminate(c.backend_id, 'soft')).status).toBe(200);
      const st = await jp.waitForStatus(c.backend_id, 'terminated', 20_000);
      expect(st).toMatchObject({ termination_kind: 'soft', termination_reason: 'external', exit_code: 0, exit_error: false });
      // The follow stream sends the last line and ends on its own once the backend has terminated.
      await follow.waitForEnd(10_000);
      expect(hasLine(follow.events, 'got SIGTERM')).toBe(true);
      expect(follow.events.at(-1)?.event).toBe('end');
    } finally {
      follow.close();
    }
    expect(await inspectContainer(`jetplane-${c.backend_id}`)).toBeUndefined();

    // After the end: everything, in order, with stream names; resumable after a given line.
    const lines = await storedLogs(c.backend_id);
    const texts = lines.map((l) => `${l.stream}:${l.line}`);
    expect(texts).toContain('stdout:line-from-test');
    expect(texts).toContain('stderr:err:line-from-test');
    expect(texts.at(-1)).toBe('stdout:got SIGTERM');
    const seqs = lines.map((l) => l.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const resumed = await openSse(`${jp.controllerUrl}/ctrl/b/${c.backend_id}/logs`, { headers: { 'Last-Event-ID': String(seqs.at(-2)) } });
    await resumed.waitForEnd(10_000);
    expect(resumed.events.filter((e) => e.event === 'message').map((e) => e.id)).toEqual([String(seqs.at(-1))]);

    // What `jetplane logs BACKEND` does.
    const read: BackendLogEntry[] = [];
    await readLogs({ controller: jp.controllerUrl, backendId: c.backend_id, follow: true, onEntry: (e) => read.push(e) });
    expect(read.map((e) => e.seq)).toEqual(seqs);
  });

  it('hard terminate kills a backend that ignores SIGTERM (exit 137); a soft one is killed after the grace period', async () => {
    const hard = await jp.spawnReady({ spawn_config: dockerSpawn({}, { IGNORE_SIGTERM: '1' }) }, 30_000);
    const soft = await jp.spawnReady({ spawn_config: dockerSpawn({}, { IGNORE_SIGTERM: '1' }) }, 30_000);
    await jp.terminate(hard.backend_id, 'hard');
    await jp.terminate(soft.backend_id, 'soft');
    const h = await jp.waitForStatus(hard.backend_id, 'terminated', 15_000);
    expect(h).toMatchObject({ termination_kind: 'hard', termination_reason: 'external', exit_code: 137 });
    expect((await jp.status(soft.backend_id)).body.status).toBe('terminating');
    const s = await jp.waitForStatus(soft.backend_id, 'terminated', 20_000);
    expect(s).toMatchObject({ termination_kind: 'soft', exit_code: 137 });
    expect((await storedLogs(soft.backend_id)).some((l) => l.line === 'got SIGTERM')).toBe(true);
    expect(await inspectContainer(`jetplane-${hard.backend_id}`)).toBeUndefined();
    expect(await inspectContainer(`jetplane-${soft.backend_id}`)).toBeUndefined();
  });

  it('a backend that exits reports its exit code (reason exit); its key is free again', async () => {
    const key = uniqueName('docker-exit');
    const c = await jp.spawnReady({ key: { name: key }, spawn_config: dockerSpawn() }, 30_000);
    await jp.proxyRequest(c.token, '/exit/3').catch(() => undefined);
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 15_000);
    expect(st).toMatchObject({ termination_reason: 'exit', exit_code: 3, exit_error: true });
    expect(await inspectContainer(`jetplane-${c.backend_id}`)).toBeUndefined();
    expect((await storedLogs(c.backend_id)).some((l) => l.line === 'exiting with code 3')).toBe(true);
    const again = await jp.connectOk({ key: { name: key }, spawn_config: dockerSpawn() });
    expect(again.spawned).toBe(true);
    await jp.waitForStatus(again.backend_id, 'ready', 30_000);
    await jp.terminate(again.backend_id, 'hard');
  });

  it('mount: true binds <mount base>/<key name>, a relative path <mount base>/<path>, at /plane-data', async () => {
    const key = uniqueName('mkey');
    const byKey = await jp.spawnReady({ key: { name: key }, spawn_config: dockerSpawn({ mount: true }) }, 30_000);
    const byPath = await jp.spawnReady({ spawn_config: dockerSpawn({ mount: 'custom/dir' }) }, 30_000);
    expect((await inspectContainer(`jetplane-${byKey.backend_id}`))?.HostConfig.Binds).toEqual([`${join(mountBase, key)}:/plane-data`]);
    expect((await inspectContainer(`jetplane-${byPath.backend_id}`))?.HostConfig.Binds).toEqual([`${join(mountBase, 'custom/dir')}:/plane-data`]);
    expect(existsSync(join(mountBase, key))).toBe(true);
    expect(existsSync(join(mountBase, 'custom', 'dir'))).toBe(true);
    await jp.terminate(byKey.backend_id, 'hard');
    await jp.terminate(byPath.backend_id, 'hard');
    await jp.waitForStatus(byPath.backend_id, 'terminated');
  });

  it('pull_policy Never with a missing image ends terminated (failed) with a clear message', async () => {
    const c = await jp.connectOk({ spawn_config: { cluster: jp.cluster, executable: { image: 'jetplane-test/no-such-image:1', pull_policy: 'Never' } } });
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 15_000);
    expect(st.termination_reason).toBe('failed');
    expect(st.message).toMatch(/jetplane-test\/no-such-image:1 is not present on this drone and pull_policy is Never/);
  });

  it('invalid docker executables are refused at connect with 400', async () => {
    for (const executable of [
      { image: 'Not A Valid/Image!' },
      { image: 'ok-image', mount: '../escape' },
      { image: 'ok-image', pull_policy: 'Sometimes' },
      { image: 'ok-image', resource_limits: { memory_limit_bytes: 1 } },
    ]) {
      const res = await jp.connect({ spawn_config: { cluster: jp.cluster, executable } });
      expect(res.status, JSON.stringify(executable)).toBe(400);
      expect(res.body.kind).toBe('InvalidRequest');
      expect(res.body.message).toMatch(/^spawn_config\.executable\./);
    }
  });

  it('docker executables go only to drones running the docker executor', async () => {
    await jp.startExtra('drone', ['--nats', jp.natsUrl, '--cluster', jp.cluster, '--executor', 'process', '--pool', 'proc-only'], 'drone proc-only');
    await waitFor(
      async () => listOf<{ pool: string }>((await getJson(`${jp.controllerUrl}/ctrl/drones`)).body).some((d) => d.pool === 'proc-only'),
      { timeoutMs: 15_000, description: 'the process-only drone to be listed' },
    );
    const res = await jp.connect({ spawn_config: { ...dockerSpawn(), pool: 'proc-only' } });
    expect(res.status).toBe(500);
    expect(res.body.kind).toBe('NoDroneAvailable');
  });

  it('process backends have their output in JetStream too', async () => {
    const c = await jp.spawnReady({ spawn_config: jp.spawnConfig() });
    await waitFor(async () => (await storedLogs(c.backend_id)).some((l) => l.stream === 'stdout' && l.line.includes('listening on')), {
      timeoutMs: 10_000,
      description: 'the process backend output in the logs',
    });
    await jp.terminate(c.backend_id, 'hard');
    await jp.waitForStatus(c.backend_id, 'terminated');
  });

  it('logs of an unknown backend are 404', async () => {
    const res = await httpRequest(`${jp.controllerUrl}/ctrl/b/no-such-backend/logs`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).kind).toBe('NotFound');
  });
});
