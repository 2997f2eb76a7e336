/**
 * Idle and lifetime limits decided on the drone's clock from the proxies' coalesced activity reports,
 * and the liveness endpoint that tells why a backend is still alive (short timing for every component,
 * see ha-support.ts FAST_TIMING: activity reports every 0.5 s, sweeps every 0.25 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay, startJetPlane, stopAllProcesses, uniqueName, waitFor, type JetPlaneEnv } from '@jetplane/testing';
import { closeWs, liveness, openWs, timingEnv } from './ha-support.js';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1, env: timingEnv() });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

/** Sweep interval + report interval + slack for a loaded machine. */
const SLACK_MS = 4_000;

describe('idle timeout (max_idle_seconds)', () => {
  it('no traffic → terminated, reason swept (soft), about max_idle after ready', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('idle') }, spawn_config: jp.spawnConfig({ max_idle_seconds: 2 }) });
    const readyAt = Date.now();
    const live = await liveness(jp.controllerUrl, c.backend_id);
    expect(live.status, JSON.stringify(live.body)).toBe(200);
    expect(live.body).toMatchObject({ backend_id: c.backend_id, running: true, open_connections: 0, max_idle_seconds: 2, lifetime_limit_seconds: null });
    expect(live.body.idle_deadline_in_ms).toBeGreaterThan(0);
    expect(live.body.idle_deadline_in_ms).toBeLessThanOrEqual(2_000);
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 2_000 + SLACK_MS);
    expect(st).toMatchObject({ termination_reason: 'swept', termination_kind: 'soft' });
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual(1_500);
    const after = await liveness(jp.controllerUrl, c.backend_id);
    expect(after.body).toMatchObject({ status: 'terminated', running: false });
  });

  it('plain requests keep it alive past the limit', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('busy') }, spawn_config: jp.spawnConfig({ max_idle_seconds: 2 }) });
    for (let i = 0; i < 12; i++) {
      await jp.echo(c.token, `/tick/${i}`);
      await delay(500);
    }
    expect((await jp.status(c.backend_id)).body.status).toBe('ready');
    const live = await liveness(jp.controllerUrl, c.backend_id);
    expect(live.body.last_activity_ms_ago).not.toBeNull();
    expect(live.body.last_activity_ms_ago!).toBeLessThan(2_000);
  });

  it('an open WebSocket keeps it ready however quiet it is; after the close it is swept', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('ws') }, spawn_config: jp.spawnConfig({ max_idle_seconds: 2 }) });
    const ws = await openWs(jp, c.token);
    try {
      await delay(7_000); // 3.5x the idle limit, without a single frame
      expect((await jp.status(c.backend_id)).body.status).toBe('ready');
      const live = await liveness(jp.controllerUrl, c.backend_id);
      expect(live.body).toMatchObject({ running: true, open_connections: 1, idle_deadline_in_ms: null });
      expect(live.body.why.join('; ')).toMatch(/1 open connection/);
    } finally {
      await closeWs(ws);
    }
    const closedAt = Date.now();
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 2_000 + SLACK_MS);
    expect(st.termination_reason).toBe('swept');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(1_500);
  });
});

describe('lifetime limit (lifetime_limit_seconds)', () => {
  it('is enforced even with an open connection: terminated, reason lifetime', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('life') }, spawn_config: jp.spawnConfig({ lifetime_limit_seconds: 3, max_idle_seconds: 60 }) });
    const ws = await openWs(jp, c.token);
    try {
      const live = await liveness(jp.controllerUrl, c.backend_id);
      expect(live.body.lifetime_deadline_in_ms).toBeGreaterThan(0);
      expect(live.body.lifetime_deadline_in_ms).toBeLessThanOrEqual(3_000);
      const st = await jp.waitForStatus(c.backend_id, 'terminated', 3_000 + SLACK_MS);
      expect(st.termination_reason).toBe('lifetime');
      // The proxy cut the WebSocket once the backend was gone.
      await waitFor(async () => ws.readyState === ws.CLOSED || undefined, { timeoutMs: 5_000, description: 'the WebSocket to be closed' });
    } finally {
      await closeWs(ws);
    }
  });
});

describe('liveness endpoint', () => {
  it('answers on the /ctrl and /pub forms, with and without the cluster; 404 for unknown backends', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('lv') }, spawn_config: jp.spawnConfig() });
    const cluster = encodeURIComponent(jp.cluster);
    for (const path of [`/ctrl/b/${c.backend_id}`, `/ctrl/c/${cluster}/b/${c.backend_id}`, `/pub/b/${c.backend_id}`, `/pub/c/${cluster}/b/${c.backend_id}`]) {
      const res = await fetch(`${jp.controllerUrl}${path}/liveness`);
      expect(res.status, path).toBe(200);
      const body = (await res.json()) as { running: boolean; lease_renewed_ms_ago: number | null; idle_deadline_in_ms: number | null };
      expect(body.running).toBe(true);
      expect(body.idle_deadline_in_ms).toBeNull(); // no idle limit
      expect(body.lease_renewed_ms_ago).not.toBeNull();
      expect(body.lease_renewed_ms_ago!).toBeLessThan(2_500); // renewed every second
    }
    const unknown = await liveness(jp.controllerUrl, 'nosuchbackend');
    expect(unknown.status).toBe(404);
    expect(unknown.body.kind).toBe('NotFound');
    const wrongCluster = await fetch(`${jp.controllerUrl}/ctrl/c/elsewhere.example/b/${c.backend_id}/liveness`);
    expect(wrongCluster.status).toBe(404);
  });
});
