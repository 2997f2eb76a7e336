import { afterEach, describe, expect, it } from 'vitest';
import { BackendRunner } from './backend-runner.js';
import { FakeExecutor, FakeStores, backendRecord, silentLog, spawnWork, tcpServer, waitFor } from './fakes.fixture.js';
import { LifecycleSupervisor } from './lifecycle.js';
import { StartGate } from './start-gate.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('StartGate', () => {
  it('lets `limit` in, then the others first come first served; a release is idempotent', async () => {
    const gate = new StartGate(2);
    const signal = new AbortController().signal;
    const a = await gate.enter(signal);
    const b = await gate.enter(signal);
    const order: string[] = [];
    const c = gate.enter(signal).then((leave) => (order.push('c'), leave));
    const d = gate.enter(signal).then((leave) => (order.push('d'), leave));
    expect(gate.counts).toEqual({ active: 2, waiting: 2 });
    a!();
    a!();
    await c;
    expect(order).toEqual(['c']);
    expect(gate.counts).toEqual({ active: 2, waiting: 1 });
    b!();
    (await d)!();
    (await c)!();
    expect(gate.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('an abort while waiting gives up the place, without taking a slot', async () => {
    const gate = new StartGate(1);
    const leave = await gate.enter(new AbortController().signal);
    const ac = new AbortController();
    const waiting = gate.enter(ac.signal);
    ac.abort();
    expect(await waiting).toBeNull();
    expect(gate.counts).toEqual({ active: 1, waiting: 0 });
    expect(await gate.enter(ac.signal)).toBeNull();
    leave!();
    expect(gate.counts).toEqual({ active: 0, waiting: 0 });
  });
});

describe('a burst larger than the drone starts at once', () => {
  it('keeps the key lease of every accepted backend while it waits for a start slot, and starts them all', async () => {
    const fake = new FakeStores();
    const executor = new FakeExecutor();
    const http = await tcpServer();
    cleanups.push(() => http.close());
    // One slot, taken by a backend that never answers: it holds the slot for the whole fast-probe window
    // (1 s), far longer than the lease's soft deadline (150 ms) of the backends queued behind it.
    executor.outcome = { address: '127.0.0.1:1' };
    const renewals = new Map<string, number>();
    const lifecycle = new LifecycleSupervisor({
      drone: 'dr-test',
      keys: {
        renew: async (_ns, name) => {
          renewals.set(name, (renewals.get(name) ?? 0) + 1);
          return { ok: true, revision: 1 };
        },
      },
      timing: { keyRenewAfterMs: 50, keySoftTerminateAfterMs: 150, keyHardTerminateAfterMs: 200, keyRenewRetryMs: 20, sweepIntervalMs: 50 },
      log: silentLog,
      isConnected: () => true,
    });
    lifecycle.start();
    cleanups.push(() => lifecycle.stop());
    const gate = new StartGate(1);
    const timing = { softTerminateGraceMs: 50, startupTimeoutMs: 10_000, readinessProbeIntervalMs: 20 };
    const runners = ['slow', 'q1', 'q2', 'q3'].map((id) => {
      fake.add(backendRecord(id));
      return new BackendRunner({ stores: fake.stores, drone: 'dr-test', timing, log: silentLog, executor, gate }, spawnWork(id));
    });
    cleanups.push(async () => {
      for (const r of runners) void r.terminate('hard', 'external');
      await Promise.all(runners.map((r) => r.done));
    });
    for (const runner of runners) {
      expect(await runner.accept()).toBe('accepted');
      lifecycle.watch(runner);
      void runner.run();
    }
    await waitFor(() => gate.counts.waiting === 3);
    executor.outcome = { address: http.address };
    await new Promise((resolve) => setTimeout(resolve, 400)); // well past the soft and hard deadlines
    for (const id of ['q1', 'q2', 'q3']) {
      expect(fake.state(id)?.status).toBe('loading');
      expect(renewals.get(`key-${id}`)).toBeGreaterThanOrEqual(4);
    }
    await waitFor(() => ['q1', 'q2', 'q3'].every((id) => fake.state(id)?.status === 'ready'), 3_000);
    expect(fake.state('slow')?.status).toBe('waiting');
    for (const id of ['slow', 'q1', 'q2', 'q3']) expect(fake.statuses(id)).not.toContain('terminating:soft');
  });
});
