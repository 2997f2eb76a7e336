/**
 * Scheduling-side lifecycle guarantees: pools (spawn_config.pool picks among that pool's drones only),
 * admission control (--max-backends: 429 with Retry-After when every eligible drone is full), drain
 * (HTTP and `jetplane drain`: no new backends, old ones keep routing, idempotent, --exit-when-drained),
 * terminate (idempotent and bounded), and fencing tokens that strictly increase per key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { newDroneName, type DroneListing } from '@jetplane/protocol';
import { REPO_ROOT, freePort, getJson, httpRequest, listOf, runCli, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';
import { FAST_TIMING, timingEnv } from './ha-support.js';

let jp: JetPlaneEnv;
const BLUE = 'blue';
const STUBBORN = join(REPO_ROOT, 'test', 'fixtures', 'stubborn-backend.mjs');

beforeAll(async () => {
  // Two drones in pool blue, one in the default pool; each takes at most 2 backends.
  jp = await startJetPlane({ drones: 3, pools: [BLUE, BLUE, undefined], droneArgs: ['--max-backends', '2'], env: timingEnv() });
}, 90_000);

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

const blueDrones = (): string[] => jp.drones.filter((d) => d.pool === BLUE).map((d) => d.name);
const defaultDrone = (): string => jp.drones.find((d) => d.pool === undefined)!.name;
async function drones(): Promise<DroneListing[]> {
  return listOf<DroneListing>((await getJson(`${jp.controllerUrl}/ctrl/drones`)).body);
}
/** Until every drone reports no backend (terminated ones are counted until their drone's next heartbeat). */
async function waitForEmptyDrones(): Promise<void> {
  await waitFor(async () => (await drones()).every((d) => d.backends === 0) || undefined, { timeoutMs: 10_000, intervalMs: 100, description: 'every drone to report 0 backends' });
}
async function terminateAndWait(backendId: string): Promise<void> {
  expect((await jp.terminate(backendId, 'hard')).status).toBe(200);
  await jp.waitForStatus(backendId, 'terminated');
}

describe('fencing token', () => {
  it('strictly increases across successive acquisitions of one key', async () => {
    const key = uniqueName('fence');
    const tokens: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
      expect(c.spawned).toBe(true);
      tokens.push(Number((await jp.echo(c.token, '/')).env.SESSION_BACKEND_FENCING_TOKEN));
      // A second connect while it lives: same backend, same token.
      const again = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() });
      expect(again.backend_id).toBe(c.backend_id);
      expect(Number((await jp.echo(again.token, '/')).env.SESSION_BACKEND_FENCING_TOKEN)).toBe(tokens[i]);
      await terminateAndWait(c.backend_id);
      await waitForEmptyDrones(); // every drone here takes at most 2 backends
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });
});

describe('pools', () => {
  it('spawn_config.pool picks among that pool only; no pool → the default pool; an empty pool → NoDroneAvailable', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await jp.connectOk({ key: { name: uniqueName('pool') }, spawn_config: jp.spawnConfig({ pool: BLUE }) });
      expect(blueDrones()).toContain(c.drone);
      made.push(c.backend_id);
    }
    const plain = await jp.connectOk({ key: { name: uniqueName('nopool') }, spawn_config: jp.spawnConfig() });
    expect(plain.drone).toBe(defaultDrone());
    made.push(plain.backend_id);
    const none = await jp.connect({ key: { name: uniqueName('none') }, spawn_config: jp.spawnConfig({ pool: 'empty-pool' }) });
    expect(none.status).toBe(500);
    expect(none.body.kind).toBe('NoDroneAvailable');
    for (const id of made) await terminateAndWait(id);
  });
});

describe('admission control (--max-backends)', () => {
  it('429 with Retry-After once every eligible drone is full; room again after a terminate', async () => {
    await waitForEmptyDrones();
    const made: string[] = [];
    for (let i = 0; i < 4; i++) made.push((await jp.connectOk({ key: { name: uniqueName('full') }, spawn_config: jp.spawnConfig({ pool: BLUE }) })).backend_id);
    const refused = await jp.connect({ key: { name: uniqueName('over') }, spawn_config: jp.spawnConfig({ pool: BLUE }) });
    expect(refused.status, JSON.stringify(refused.body)).toBe(429);
    expect(refused.body.kind).toBe('TooManyBackends');
    const raw = await httpRequest(`${jp.controllerUrl}/ctrl/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: { name: uniqueName('over') }, spawn_config: jp.spawnConfig({ pool: BLUE }) }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Other pools are not affected.
    const elsewhere = await jp.connectOk({ key: { name: uniqueName('else') }, spawn_config: jp.spawnConfig() });
    made.push(elsewhere.backend_id);

    await terminateAndWait(made[0]!);
    const admitted = await waitFor(
      async () => {
        const res = await jp.connect({ key: { name: uniqueName('room') }, spawn_config: jp.spawnConfig({ pool: BLUE }) });
        return res.status === 200 ? res.body : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: 'a blue drone to have room again' },
    );
    made.push(admitted.backend_id);
    for (const id of made.slice(1)) await terminateAndWait(id);
  });
});

describe('drain', () => {
  it('a drained drone takes no new backend, keeps routing its own, reports draining; draining is idempotent (HTTP and CLI)', async () => {
    await waitForEmptyDrones();
    const [first, second] = blueDrones();
    // One backend on each blue drone.
    const placed = new Map<string, { backend_id: string; token: string }>();
    for (let i = 0; i < 8 && placed.size < 2; i++) {
      const c = await jp.spawnReady({ key: { name: uniqueName('dr') }, spawn_config: jp.spawnConfig({ pool: BLUE }) });
      if (!placed.has(c.drone!)) placed.set(c.drone!, c);
      else await terminateAndWait(c.backend_id);
    }
    const onFirst = placed.get(first!)!;

    const cli = await runCli(['drain', first!, '--cluster', jp.cluster, '--controller', jp.controllerUrl]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/Draining initiated/);
    const again = await runCli(['drain', first!, '--cluster', jp.cluster, '--controller', jp.controllerUrl]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already draining/);
    const http = await httpRequest(`${jp.controllerUrl}/ctrl/c/${encodeURIComponent(jp.cluster)}/d/${first}/drain`, { method: 'POST' });
    expect(http.status).toBe(200);
    expect(JSON.parse(http.body)).toEqual({ updated: false });

    // The drone keeps `draining` across its heartbeats.
    await new Promise((r) => setTimeout(r, FAST_TIMING.heartbeatIntervalMs! * 3));
    expect((await drones()).find((d) => d.name === first)?.state).toBe('draining');
    const newOnes = [];
    for (let i = 0; i < 1; i++) {
      const c = await jp.connectOk({ key: { name: uniqueName('after') }, spawn_config: jp.spawnConfig({ pool: BLUE }) });
      expect(c.drone).toBe(second);
      newOnes.push(c.backend_id);
    }
    expect((await jp.echo(onFirst.token, '/still')).path).toBe('/still');
    for (const id of [...newOnes, ...[...placed.values()].map((c) => c.backend_id)]) await terminateAndWait(id);
  });

  it('--exit-when-drained: once drained and empty the drone stops cleanly (exit 0, state stopped)', { timeout: 60_000 }, async () => {
    const name = newDroneName();
    const proc = await jp.startExtra(
      'drone',
      ['--nats', jp.natsUrl, '--cluster', jp.cluster, '--name', name, '--pool', 'green', '--health-port', String(await freePort()), '--exit-when-drained'],
      `drone ${name}`,
    );
    await jp.waitForDrones([name]);
    const c = await jp.spawnReady({ key: { name: uniqueName('green') }, spawn_config: jp.spawnConfig({ pool: 'green' }) });
    expect(c.drone).toBe(name);
    const res = await httpRequest(`${jp.controllerUrl}/ctrl/c/${encodeURIComponent(jp.cluster)}/d/${name}/drain`, { method: 'POST' });
    expect(res.status).toBe(200);
    // Still running its backend, still routing.
    await new Promise((r) => setTimeout(r, FAST_TIMING.heartbeatIntervalMs! * 4));
    expect(proc.running).toBe(true);
    expect((await jp.echo(c.token, '/x')).path).toBe('/x');
    await terminateAndWait(c.backend_id);
    const exit = await proc.waitForExit(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    await waitFor(async () => (await drones()).find((d) => d.name === name)?.state === 'stopped' || undefined, { timeoutMs: 5_000, description: 'the drone listed stopped' });
  });
});

describe('terminate', () => {
  it('is idempotent and bounded: soft becomes hard after the grace period; repeats and late calls are no-ops', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('stub') }, spawn_config: { cluster: jp.cluster, executable: { command: [process.execPath, STUBBORN] } } });
    const t0 = Date.now();
    expect((await jp.terminate(c.backend_id, 'soft')).status).toBe(200);
    expect((await jp.terminate(c.backend_id, 'soft', 'short')).status).toBe(200);
    await jp.waitForStatus(c.backend_id, 'terminating');
    const st = await jp.waitForStatus(c.backend_id, 'terminated', FAST_TIMING.softTerminateGraceMs! + 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(FAST_TIMING.softTerminateGraceMs! - 500);
    expect(st).toMatchObject({ termination_reason: 'external', termination_kind: 'soft', exit_code: 137 });
    for (const kind of ['soft', 'hard'] as const) expect((await jp.terminate(c.backend_id, kind)).status).toBe(200);
    expect((await jp.status(c.backend_id)).body).toMatchObject({ status: 'terminated', termination_kind: 'soft' });
  });
});
