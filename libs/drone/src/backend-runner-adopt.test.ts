import { afterEach, describe, expect, it } from 'vitest';
import { spawnWorkOf, type BackendRecord, type BackendState } from '@jetplane/protocol';
import { BackendRunner } from './backend-runner.js';
import type { ExecutorHooks } from './executor.js';
import type { BackendOutputSink } from './output-publisher.js';
import { FakeBackend, FakeExecutor, FakeStores, backendRecord, silentLog, tcpServer, waitFor } from './fakes.fixture.js';

const timing = { softTerminateGraceMs: 100, startupTimeoutMs: 2_000, readinessProbeIntervalMs: 10 };
const fastRetry = { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** A sink recording what the runner reports, and the order of flush vs. the terminated write. */
function recordingSink(fake: FakeStores) {
  const calls: string[] = [];
  const sink: BackendOutputSink = {
    line: (id, stream, line) => void calls.push(`line ${id} ${stream} ${line}`),
    stats: (id, s) => void calls.push(`stats ${id} ${s.memoryBytes}`),
    flush: async () => void calls.push(`flush (status ${fake.state('b1')?.status})`),
    ended: (id) => void calls.push(`ended ${id}`),
    close: () => undefined,
  };
  return { sink, calls };
}


async function setup(state: BackendState) {
  const fake = new FakeStores();
  const record = backendRecord('b1', { state });
  fake.add(record, ['tok']);
  const { sink, calls } = recordingSink(fake);
  const runner = new BackendRunner(
    { stores: fake.stores, drone: 'dr-test', timing, log: silentLog, executor: new FakeExecutor(), retry: fastRetry, output: sink },
    spawnWorkOf(record),
  );
  return { fake, record, runner, calls };
}

describe('BackendRunner.adopt (a container left by an earlier run of the drone)', () => {
  it('follows a ready backend until it exits: output and stats reach the sink, flushed before terminated, then released', async () => {
    const { fake, record, runner, calls } = await setup({ status: 'ready', time: 1, address: '127.0.0.1:1' });
    const backend = new FakeBackend('127.0.0.1:1');
    let hooks: ExecutorHooks | undefined;
    expect(
      await runner.adopt(record, async (h) => {
        hooks = h;
        return backend;
      }),
    ).toBe(true);
    hooks!.onOutput('stdout', 'still here');
    hooks!.onStats?.({ cpuPercent: 1, memoryBytes: 123, memoryLimitBytes: null, time: 1 });
    backend.exit({ exitCode: 3, signal: null });
    await runner.done;
    expect(fake.statuses('b1')).toEqual(['ready', 'terminated']);
    expect(fake.state('b1')).toMatchObject({ termination_reason: 'exit', exit_code: 3 });
    expect(calls).toEqual(['line b1 stdout still here', 'stats b1 123', 'ended b1', 'flush (status ready)']);
    expect(fake.tokens.get('b1')).toEqual([]);
    expect(fake.keysHeld.size).toBe(0);
  });

  it('takes a backend that was still starting through waiting to ready', async () => {
    const http = await tcpServer();
    cleanups.push(() => http.close());
    const { fake, record, runner } = await setup({ status: 'starting', time: 1 });
    const backend = new FakeBackend(http.address);
    await runner.adopt(record, async () => backend);
    await waitFor(() => fake.state('b1')?.status === 'ready');
    expect(fake.statuses('b1')).toEqual(['starting', 'waiting', 'ready']);
    backend.terminate('hard');
    await runner.done;
  });

  it('carries on a terminate that was in progress', async () => {
    const { fake, record, runner } = await setup({ status: 'terminating', time: 1, last_status: 'ready', termination_kind: 'soft', termination_reason: 'external' });
    const backend = new FakeBackend('127.0.0.1:1', false);
    await runner.adopt(record, async () => backend);
    await runner.done;
    // Soft first; it ignores SIGTERM, so the grace period ends it.
    expect(backend.signals).toEqual(['soft', 'hard']);
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', termination_kind: 'soft', termination_reason: 'external' });
  });

  it('reports false when the container is gone', async () => {
    const { record, runner } = await setup({ status: 'ready', time: 1 });
    expect(await runner.adopt(record, async () => null)).toBe(false);
  });
});
