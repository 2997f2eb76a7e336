import { describe, expect, it } from 'vitest';
import type { BackendRecord, BackendStatus, TerminationKind, TerminationReason } from '@jetplane/protocol';
import { LifecycleSupervisor, type SupervisedRunner } from './lifecycle.js';
import { backendRecord, silentLog } from './fakes.fixture.js';

class FakeRunner implements SupervisedRunner {
  live = true;
  readonly done: Promise<void>;
  finish!: () => void;
  terminations: Array<{ kind: TerminationKind; reason: TerminationReason }> = [];
  constructor(public current: BackendRecord) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }
  get id(): string {
    return this.current.id;
  }
  set status(status: BackendStatus) {
    this.current = { ...this.current, state: { status, time: 0 } };
  }
  async terminate(kind: TerminationKind, reason: TerminationReason): Promise<void> {
    this.terminations.push({ kind, reason });
    this.live = false;
  }
}

function setup() {
  let now = 0;
  let connected = true;
  const renewals: string[] = [];
  const sup = new LifecycleSupervisor({
    drone: 'dr-test',
    keys: {
      renew: async (_ns, name) => {
        renewals.push(name);
        return { ok: true, revision: 1 };
      },
    },
    timing: { keyRenewAfterMs: 30_000, keySoftTerminateAfterMs: 40_000, keyHardTerminateAfterMs: 50_000, keyRenewRetryMs: 1_000, sweepIntervalMs: 1_000 },
    log: silentLog,
    isConnected: () => connected,
    now: () => now,
  });
  const runner = (overrides: Partial<BackendRecord> = {}, status: BackendStatus = 'ready'): FakeRunner => {
    const r = new FakeRunner(backendRecord(`b${Math.random().toString(36).slice(2, 8)}`, { ...overrides, state: { status, time: 0 } }));
    sup.watch(r);
    return r;
  };
  const report = (backendId: string, connections: number, requests: number, proxy = 'px-1'): void =>
    // Reports arrive through NATS in production; here straight into the ledger via inspect's owner.
    (sup as unknown as { ledger: { record(r: unknown, at: number): void } }).ledger.record({ proxy, interval_ms: 1_000, backends: [{ backend_id: backendId, connections, requests }] }, now);
  return {
    sup,
    runner,
    report,
    renewals,
    at(ms: number) {
      now = ms;
      sup.sweep();
    },
    disconnect(v: boolean) {
      connected = !v;
    },
  };
}

describe('LifecycleSupervisor', () => {
  it('starts a key lease per backend (a renewal right away)', async () => {
    const t = setup();
    const r = t.runner();
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.renewals).toEqual([r.current.key.name]);
    t.sup.stop();
  });

  it('idle: no traffic → soft terminate swept once max_idle has passed since ready', () => {
    const t = setup();
    const r = t.runner({ max_idle_seconds: 10 });
    t.at(9_999);
    expect(r.terminations).toEqual([]);
    t.at(10_000);
    expect(r.terminations).toEqual([{ kind: 'soft', reason: 'swept' }]);
    t.at(20_000);
    expect(r.terminations).toHaveLength(1); // never asked twice
    t.sup.stop();
  });

  it('idle counts from ready, not from the spawn', () => {
    const t = setup();
    const r = t.runner({ max_idle_seconds: 10 }, 'loading');
    t.at(30_000);
    expect(r.terminations).toEqual([]);
    r.status = 'ready';
    t.at(31_000);
    t.at(40_999);
    expect(r.terminations).toEqual([]);
    t.at(41_000);
    expect(r.terminations).toEqual([{ kind: 'soft', reason: 'swept' }]);
    t.sup.stop();
  });

  it('requests push the idle deadline; an open connection holds it however quiet; closing restarts the count', () => {
    const t = setup();
    const r = t.runner({ max_idle_seconds: 10 });
    t.at(8_000);
    t.report(r.id, 0, 5);
    t.at(17_000);
    expect(r.terminations).toEqual([]);
    t.report(r.id, 1, 1); // a WebSocket opens at 17 s
    for (let s = 18; s <= 100; s++) {
      t.at(s * 1_000);
      if (s % 2 === 0) t.report(r.id, 1, 0); // repeated while open
    }
    expect(r.terminations).toEqual([]);
    expect(t.sup.inspect(r.id)).toMatchObject({ running: true, open_connections: 1, idle_deadline_in_ms: null });
    t.report(r.id, 0, 0); // closed at 100 s; the last report with it open was at 100 s too
    t.at(109_000);
    expect(r.terminations).toEqual([]);
    expect(t.sup.inspect(r.id)).toMatchObject({ open_connections: 0, idle_deadline_in_ms: 1_000 });
    t.at(110_000);
    expect(r.terminations).toEqual([{ kind: 'soft', reason: 'swept' }]);
    t.sup.stop();
  });

  it('lifetime: soft terminate (lifetime) when reached, even with open connections', () => {
    const t = setup();
    const r = t.runner({ lifetime_limit_seconds: 5 });
    t.report(r.id, 3, 3);
    t.at(4_000);
    expect(t.sup.inspect(r.id)).toMatchObject({ lifetime_deadline_in_ms: 1_000 });
    t.report(r.id, 3, 3);
    t.at(5_000);
    expect(r.terminations).toEqual([{ kind: 'soft', reason: 'lifetime' }]);
    t.sup.stop();
  });

  it('no idle time runs while the drone is disconnected from NATS (reports could not arrive)', () => {
    const t = setup();
    const r = t.runner({ max_idle_seconds: 10 });
    t.at(5_000);
    t.disconnect(true);
    t.at(15_000);
    t.at(60_000);
    t.disconnect(false);
    t.at(61_000);
    t.at(70_999);
    expect(r.terminations).toEqual([]);
    t.at(71_000);
    expect(r.terminations).toEqual([{ kind: 'soft', reason: 'swept' }]);
    t.sup.stop();
  });

  it('inspect: relative durations on the drone clock; unknown or finished backends are not running', async () => {
    const t = setup();
    const r = t.runner({ max_idle_seconds: 30, lifetime_limit_seconds: 100 });
    await new Promise((resolve) => setImmediate(resolve)); // the first lease renewal (sent at 0) lands
    t.at(2_000);
    t.report(r.id, 0, 1);
    t.at(3_000);
    expect(t.sup.inspect(r.id)).toEqual({
      running: true,
      open_connections: 0,
      last_activity_ms_ago: 1_000,
      idle_deadline_in_ms: 29_000,
      lifetime_deadline_in_ms: 97_000,
      lease_renewed_ms_ago: 3_000,
      lease_soft_deadline_in_ms: 37_000,
    });
    expect(t.sup.inspect('nope')).toEqual({ running: false });
    r.finish();
    await r.done;
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.sup.inspect(r.id)).toEqual({ running: false });
    t.sup.stop();
  });

  it('while fenced, a backend taken meanwhile is killed at once', () => {
    const t = setup();
    t.sup.setFenced(true);
    const r = t.runner();
    expect(r.terminations).toEqual([{ kind: 'hard', reason: 'lost' }]);
    t.sup.setFenced(false);
    const ok = t.runner();
    expect(ok.terminations).toEqual([]);
    t.sup.stop();
  });
});
