/**
 * `lifetime_limit_seconds` and `max_idle_seconds` end backends with the contract's termination
 * reasons: `lifetime` and `swept` (contract §3; reference §5.7; protocol Timing.sweepIntervalMs,
 * activityReportIntervalMs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timing } from '@jetplane/protocol';
import { delay, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

/** How late a sweep may be: one sweep interval, one activity report window, and slack for a loaded machine. */
const SWEEP_SLACK_MS = Timing.sweepIntervalMs + Timing.activityReportIntervalMs + 5_000;

describe('lifetime and idle limits', () => {
  it('lifetime_limit_seconds: 2 → terminated (reason lifetime) soon after 2 s', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('life') }, spawn_config: jp.spawnConfig({ lifetime_limit_seconds: 2 }) });
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 2_000 + SWEEP_SLACK_MS);
    expect(st.termination_reason).toBe('lifetime');
  });

  it('max_idle_seconds: 2 without traffic → terminated (reason swept)', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('idle') }, spawn_config: jp.spawnConfig({ max_idle_seconds: 2 }) });
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 2_000 + SWEEP_SLACK_MS);
    expect(st.termination_reason).toBe('swept');
    expect(st.termination_kind).toBe('soft');
  });

  it('max_idle_seconds: a backend with traffic stays up past the limit', { timeout: 90_000 }, async () => {
    const idleSeconds = Math.ceil((Timing.activityReportIntervalMs * 2) / 1000);
    const c = await jp.spawnReady({ key: { name: uniqueName('busy') }, spawn_config: jp.spawnConfig({ max_idle_seconds: idleSeconds }) });
    // Requests every second for twice the idle limit (a bounded loop).
    const until = Date.now() + idleSeconds * 2_000;
    for (let i = 0; i < idleSeconds * 4 && Date.now() < until; i++) {
      expect((await jp.echo(c.token, `/tick/${i}`)).path).toBe(`/tick/${i}`);
      await delay(1_000);
    }
    expect((await jp.status(c.backend_id)).body.status).toBe('ready');
  });
});
