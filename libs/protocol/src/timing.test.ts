import { describe, expect, it } from 'vitest';
import { Timing, timingViolations } from './timing.js';

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
