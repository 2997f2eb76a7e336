/**
 * Any component can be SIGKILLed and the system carries on from JetStream:
 * - two controllers, one killed: connects carry on (HTTP on the survivor, NATS through the queue group);
 * - the proxy killed and restarted: every existing token routes on its very first request after ready;
 * - a drone killed and restarted under its name: it never reports a backend it no longer runs, leaves no
 *   orphan (even when the per-backend watchers die with it: its state file is used at the restart), and
 *   does not touch other drones' backends.
 * Short timing (ha-support FAST_TIMING). Recovery times are printed (`[measure] ...`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { connectNats } from '@jetplane/nats';
import { Subjects, newDroneName, type ConnectResponse } from '@jetplane/protocol';
import { delay, freePort, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';
import { backendPids, recordMeasurement, timingEnv } from './ha-support.js';

let jp: JetPlaneEnv;
const SOLO_POOL = 'solo';

beforeAll(async () => {
  // Drone 2 is alone in its pool, so the drone-restart test knows where its backend lands.
  jp = await startJetPlane({ drones: 3, pools: [undefined, undefined, SOLO_POOL], controllers: 2, env: timingEnv() });
}, 90_000);

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('controller loss', () => {
  it('two controllers, one SIGKILLed: connects carry on over HTTP (survivor) and NATS (queue group)', { timeout: 60_000 }, async () => {
    const nats = await connectNats({ servers: jp.natsUrl.split(','), name: 'jetplane-e2e-ha' });
    const http: Array<{ at: number; ok: boolean }> = [];
    const viaNats: Array<Promise<{ at: number; ok: boolean; ms: number }>> = [];
    let running = true;
    const body = () => JSON.stringify({ key: { name: uniqueName('ctl') }, spawn_config: jp.spawnConfig() });
    const natsConnect = async (): Promise<{ at: number; ok: boolean; ms: number }> => {
      const at = Date.now();
      try {
        const reply = JSON.parse((await nats.nc.request(Subjects.connect, body(), { timeout: 5_000 })).string()) as { error?: unknown };
        return { at, ok: reply.error === undefined, ms: Date.now() - at };
      } catch {
        return { at, ok: false, ms: Date.now() - at };
      }
    };
    const loops = [
      (async () => {
        for (let i = 0; running && i < 1_000; i++) {
          const at = Date.now();
          const res = await jp.connectVia(1, JSON.parse(body())).catch(() => undefined);
          http.push({ at, ok: res?.status === 200 });
          await delay(100);
        }
      })(),
      (async () => {
        // Not waiting for answers: a request the killed controller had taken is lost (the caller's
        // timeout), the point is that every request sent after the kill is answered.
        for (let i = 0; running && i < 1_000; i++) {
          viaNats.push(natsConnect());
          await delay(100);
        }
      })(),
    ];
    let killedAt = 0;
    try {
      await delay(1_500);
      jp.controllers[0]!.kill('SIGKILL');
      await jp.controllers[0]!.waitForExit(5_000);
      killedAt = Date.now();
      await delay(6_000);
    } finally {
      running = false;
      await Promise.all(loops);
      const samples = await Promise.all(viaNats);
      await nats.close();
      if (killedAt > 0) {
        const httpAfter = http.filter((s) => s.at >= killedAt);
        expect(httpAfter.length).toBeGreaterThan(5);
        expect(httpAfter.every((s) => s.ok)).toBe(true);
        const natsAfter = samples.filter((s) => s.at >= killedAt);
        const firstOk = natsAfter.find((s) => s.ok);
        recordMeasurement('restarts', 'controller SIGKILL → first NATS connect answered (sent after the kill)', firstOk ? firstOk.at + firstOk.ms - killedAt : Number.POSITIVE_INFINITY, {
          failed_sent_after_kill: natsAfter.filter((s) => !s.ok).length,
          lost_in_flight_at_kill: samples.filter((s) => s.at < killedAt && !s.ok).length,
          slowest_after_kill_ms: Math.max(...natsAfter.map((s) => s.ms)),
        });
        expect(natsAfter.length).toBeGreaterThan(20);
        expect(natsAfter.every((s) => s.ok)).toBe(true);
      }
      // The killed controller restarts and knows everything from JetStream.
      const t0 = Date.now();
      await jp.restartController(0, 'SIGKILL');
      recordMeasurement('restarts', 'controller restart → ready', Date.now() - t0);
    }
    expect((await jp.connect({ key: { name: uniqueName('back') }, spawn_config: jp.spawnConfig() })).status).toBe(200);
  });
});

describe('proxy restart', () => {
  it('every existing token routes on its first request after the restarted proxy is ready', { timeout: 60_000 }, async () => {
    const tokens: ConnectResponse[] = [];
    const keys = Array.from({ length: 10 }, () => uniqueName('px'));
    for (const key of keys) tokens.push(await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() }));
    // More tokens for the same backends (further connects of a held key), a static token too.
    for (const key of keys.slice(0, 3)) tokens.push(await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() }));
    tokens.push(await jp.spawnReady({ key: { name: uniqueName('pxs') }, spawn_config: jp.spawnConfig({ use_static_token: true }) }));
    const t0 = Date.now();
    await jp.restartProxy('SIGKILL');
    recordMeasurement('restarts', 'proxy SIGKILL → restarted proxy ready', Date.now() - t0, { tokens: tokens.length });
    for (const c of tokens) {
      const res = await jp.proxyRequest(c.token, '/first');
      expect(res.status, `token of ${c.backend_id}: ${res.body.slice(0, 100)}`).toBe(200);
    }
  });
});

describe('drone restart', () => {
  it('SIGKILL + restart under its name: its backend is recorded ended (never ready), no orphan, other drones untouched', { timeout: 60_000 }, async () => {
    const index = 2;
    const victim = jp.drones[index]!;
    const mine = await jp.spawnReady({ key: { name: uniqueName('dr') }, spawn_config: jp.spawnConfig({ pool: SOLO_POOL }) });
    expect(mine.drone).toBe(victim.name);
    const other = await jp.spawnReady({ key: { name: uniqueName('dr') }, spawn_config: jp.spawnConfig() });
    expect(other.drone).not.toBe(victim.name);
    const t0 = Date.now();
    await jp.restartDrone(index, 'SIGKILL');
    recordMeasurement('restarts', 'drone SIGKILL → restarted drone schedulable', Date.now() - t0);
    const st = await jp.waitForStatus(mine.backend_id, 'terminated', 10_000);
    expect(st.termination_reason).toBe('lost');
    expect(backendPids(mine.backend_id)).toEqual([]);
    expect([404, 410]).toContain((await jp.proxyRequest(mine.token, '/')).status);
    expect((await jp.status(other.backend_id)).body.status).toBe('ready');
    expect((await jp.echo(other.token, '/fine')).path).toBe('/fine');
  });

  it('even when its watchers die with it, the restarted drone kills what its predecessor left running (state file)', { timeout: 60_000 }, async () => {
    // A drone of its own (pool "orphans") so the backend surely lands there.
    const name = newDroneName();
    const args = async () => ['--nats', jp.natsUrl, '--cluster', jp.cluster, '--name', name, '--pool', 'orphans', '--health-port', String(await freePort())];
    const first = await jp.startExtra('drone', await args(), `drone ${name}`);
    await jp.waitForDrones([name]);
    const target = await jp.spawnReady({ key: { name: uniqueName('orphan') }, spawn_config: jp.spawnConfig({ pool: 'orphans' }) });
    expect(target.drone).toBe(name);
    expect(backendPids(target.backend_id).length).toBeGreaterThan(0);
    // Kill the drone together with its dead-man's-switch watchers: the backend survives as an orphan...
    const watchers = first.descendants().filter((d) => {
      try {
        return readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').includes('jetplane-fence');
      } catch {
        return false;
      }
    });
    expect(watchers.length).toBe(1);
    for (const w of watchers) process.kill(w.pid, 'SIGKILL');
    first.kill('SIGKILL');
    await first.waitForExit(5_000);
    await delay(300);
    expect(backendPids(target.backend_id).length).toBeGreaterThan(0);
    // ...until the drone restarts under its name and reads its state file.
    const second = await jp.startExtra('drone', await args(), `drone ${name} (restarted)`);
    await waitFor(async () => backendPids(target.backend_id).length === 0 || undefined, { timeoutMs: 5_000, intervalMs: 50, description: 'the orphan to be killed' });
    expect((await jp.waitForStatus(target.backend_id, 'terminated', 10_000)).termination_reason).toBe('lost');
    expect(second.findLogs((l) => l.json?.msg === 'killing a backend left running by an earlier run of this drone').length).toBe(1);
  });
});
