import { describe, expect, it } from 'vitest';
import { Timing, respawnAfterDroneDeathMs, timingFromJson, timingViolations } from './timing.js';

describe('timing constants', () => {
  it('keep the lease and liveness ordering', () => {
    expect(timingViolations(Timing)).toEqual([]);
    expect(Timing.keyRenewAfterMs).toBeLessThan(Timing.keySoftTerminateAfterMs);
    expect(Timing.keySoftTerminateAfterMs).toBeLessThan(Timing.keyHardTerminateAfterMs);
    expect(Timing.keyHardTerminateAfterMs).toBeLessThan(Timing.keyExpirationMs);
  });

  it('reports a broken ordering', () => {
    expect(timingViolations({ ...Timing, keyHardTerminateAfterMs: Timing.keySoftTerminateAfterMs })).toContain('hard > soft');
  });
});

describe('timing: lifecycle and fencing', () => {
  it('keeps Plane\'s lease constants (30 / 40 / 50 / 60 s)', () => {
    expect([Timing.keyRenewAfterMs, Timing.keySoftTerminateAfterMs, Timing.keyHardTerminateAfterMs, Timing.keyExpirationMs]).toEqual([
      30_000, 40_000, 50_000, 60_000,
    ]);
  });

  it('with defaults, a dead drone\'s keys can be re-spawned elsewhere within 90 s', () => {
    expect(respawnAfterDroneDeathMs(Timing)).toBeLessThanOrEqual(90_000);
    // Also through the lease alone (a drone that heartbeats but cannot renew).
    expect(Timing.keyExpirationMs + Timing.sweepIntervalMs).toBeLessThanOrEqual(90_000);
  });

  it('the drone fences itself before it is declared lost, and is unhealthy before lost', () => {
    expect(Timing.droneLostAfterMs - Timing.heartbeatIntervalMs).toBeGreaterThan(Timing.heartbeatIntervalMs);
    expect(Timing.droneUnhealthyAfterMs).toBeLessThan(Timing.droneLostAfterMs);
  });

  it('allows at least one renewal retry before the soft deadline', () => {
    expect(Timing.keyRenewRetryMs).toBeLessThan(Timing.keySoftTerminateAfterMs - Timing.keyRenewAfterMs);
    expect(timingViolations({ ...Timing, keyRenewRetryMs: 20_000 })).toContain('0 < renew retry < soft - renew');
  });

  it('the short test timings are consistent', () => {
    const fast = {
      ...Timing,
      heartbeatIntervalMs: 250,
      droneUnhealthyAfterMs: 1_000,
      droneLostAfterMs: 2_000,
      keyRenewAfterMs: 1_000,
      keySoftTerminateAfterMs: 2_000,
      keyHardTerminateAfterMs: 3_000,
      keyExpirationMs: 4_000,
      keyRenewRetryMs: 250,
      activityReportIntervalMs: 500,
    };
    expect(timingViolations(fast)).toEqual([]);
  });

  it('parses overrides from JSON and rejects unknown names and bad values', () => {
    expect(timingFromJson('{"heartbeatIntervalMs": 250, "keyExpirationMs": 4000}')).toEqual({ heartbeatIntervalMs: 250, keyExpirationMs: 4000 });
    expect(() => timingFromJson('{"nope": 1}')).toThrow(/unknown setting/);
    expect(() => timingFromJson('{"heartbeatIntervalMs": -1}')).toThrow(/positive/);
    expect(() => timingFromJson('{"heartbeatIntervalMs": "1"}')).toThrow(/positive/);
    expect(() => timingFromJson('[1]')).toThrow(/object/);
    expect(() => timingFromJson('{')).toThrow(/JSON/);
  });
});
