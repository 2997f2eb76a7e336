import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TerminationKind } from '@jetplane/protocol';
import { KeyLease, type RenewOutcome } from './lease.js';
import { silentLog } from './fakes.fixture.js';

const timing = { keyRenewAfterMs: 30_000, keySoftTerminateAfterMs: 40_000, keyHardTerminateAfterMs: 50_000, keyRenewRetryMs: 1_000 };

/** A lease driven by fake timers; `renew` answers from a queue of outcomes (or hangs / fails). */
function setup() {
  const expired: Array<{ kind: TerminationKind; at: number }> = [];
  const attempts: number[] = [];
  let answer: () => Promise<RenewOutcome> = async () => ({ ok: true });
  const lease = new KeyLease(
    {
      renew: () => {
        attempts.push(Date.now());
        return answer();
      },
      expire: (kind) => expired.push({ kind, at: Date.now() }),
      timing,
      log: silentLog,
      now: () => Date.now(),
    },
    Date.now(),
  );
  return {
    lease,
    expired,
    attempts,
    set(fn: () => Promise<RenewOutcome>) {
      answer = fn;
    },
  };
}

describe('KeyLease', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('renews at once, then every 30 s, and never expires while renewals succeed', async () => {
    const t = setup();
    t.lease.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(95_000);
    expect(t.attempts).toEqual([0, 30_000, 60_000, 90_000]);
    expect(t.expired).toEqual([]);
    t.lease.stop();
  });

  it('cut off from NATS: soft at +40 s and hard at +50 s after the last renewal SENT, retrying every second until soft', async () => {
    const t = setup();
    t.lease.start();
    await vi.advanceTimersByTimeAsync(0); // renewal sent at 0 succeeds
    t.set(() => Promise.reject(new Error('TIMEOUT')));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.expired).toEqual([
      { kind: 'soft', at: 40_000 },
      { kind: 'hard', at: 50_000 },
    ]);
    // Retries between the renewal time and the soft deadline, none after it.
    expect(t.attempts.filter((a) => a >= 30_000 && a < 40_000)).toHaveLength(10);
    expect(t.attempts.some((a) => a >= 40_000)).toBe(false);
  });

  it('a renewal that hangs does not delay the deadlines', async () => {
    const t = setup();
    t.lease.start();
    await vi.advanceTimersByTimeAsync(0);
    t.set(() => new Promise<RenewOutcome>(() => undefined));
    await vi.advanceTimersByTimeAsync(50_000);
    expect(t.expired.map((e) => e.kind)).toEqual(['soft', 'hard']);
    expect(t.expired[1]!.at).toBe(50_000);
  });

  it('deadlines count from when the successful renewal was sent, not answered', async () => {
    const t = setup();
    t.set(() => new Promise<RenewOutcome>((resolve) => setTimeout(() => resolve({ ok: true }), 5_000)));
    t.lease.start();
    await vi.advanceTimersByTimeAsync(6_000); // sent at 0, answered at 5 s
    expect(t.lease.deadlines()).toMatchObject({ base: 0, renewed: true, softAt: 40_000, hardAt: 50_000 });
    t.lease.stop();
  });

  it('before the first renewal succeeds, deadlines count from the spawn', async () => {
    const t = setup();
    t.set(() => Promise.reject(new Error('no responders')));
    t.lease.start();
    await vi.advanceTimersByTimeAsync(50_000);
    expect(t.expired).toEqual([
      { kind: 'soft', at: 40_000 },
      { kind: 'hard', at: 50_000 },
    ]);
  });

  it('a key deleted or taken by another backend → hard at once, no more renewals', async () => {
    for (const reason of ['gone', 'taken'] as const) {
      const t0 = Date.now();
      const t = setup();
      t.lease.start();
      await vi.advanceTimersByTimeAsync(0);
      t.set(async () => ({ ok: false, reason }));
      await vi.advanceTimersByTimeAsync(30_000);
      expect(t.expired).toEqual([{ kind: 'hard', at: t0 + 30_000 }]);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(t.attempts).toEqual([t0, t0 + 30_000]);
    }
  });

  it('stop() ends everything', async () => {
    const t = setup();
    t.lease.start();
    await vi.advanceTimersByTimeAsync(0);
    t.lease.stop();
    t.set(() => Promise.reject(new Error('x')));
    await vi.advanceTimersByTimeAsync(100_000);
    expect(t.expired).toEqual([]);
    expect(t.attempts).toEqual([0]);
  });
});
