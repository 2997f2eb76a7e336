import { describe, expect, it } from 'vitest';
import { BackendRunner } from './backend-runner.js';
import { FakeExecutor, FakeStores, backendRecord, silentLog, spawnWork, tcpServer, waitFor } from './fakes.fixture.js';
import { WorkRetryError, workHandler } from './work-handler.js';

const retry = { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 };

function harness() {
  const fake = new FakeStores();
  const executor = new FakeExecutor();
  const runners = new Map<string, BackendRunner>();
  const lost: string[] = [];
  const tracked: string[] = [];
  const handle = workHandler({
    drone: 'dr-test',
    stores: fake.stores,
    log: silentLog,
    retry,
    runner: (id) => runners.get(id),
    createRunner: (work) =>
      new BackendRunner({ stores: fake.stores, drone: 'dr-test', timing: { softTerminateGraceMs: 50, startupTimeoutMs: 1_000, readinessProbeIntervalMs: 10 }, log: silentLog, executor, retry }, work),
    hold: (runner) => {
      runners.set(runner.id, runner);
      void runner.done.then(() => runners.delete(runner.id));
    },
    track: (runner) => void tracked.push(runner.id),
    ended: (reason) => void lost.push(reason),
  });
  return { fake, executor, runners, handle, lost, tracked };
}


describe('workHandler', () => {
  it('spawns once: a redelivered spawn is a no-op', async () => {
    const { fake, executor, runners, handle } = harness();
    const http = await tcpServer();
    executor.outcome = { address: http.address };
    fake.add(backendRecord('b1'));
    await handle(spawnWork('b1'));
    await handle(spawnWork('b1'));
    expect(runners.size).toBe(1);
    await waitFor(() => fake.state('b1')?.status === 'ready');
    expect(executor.specs).toHaveLength(1);
    await handle({ type: 'terminate', backend_id: 'b1', kind: 'hard', reason: 'external' });
    await waitFor(() => runners.size === 0);
    // Redelivered after it ended: the record is past scheduled, nothing starts again.
    await handle(spawnWork('b1'));
    expect(executor.specs).toHaveLength(1);
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', termination_reason: 'external' });
    await http.close();
  });

  it('records a backend it does not run as lost, and releases it', async () => {
    const { fake, handle, lost } = harness();
    fake.add(backendRecord('b2', { state: { status: 'ready', time: 1, address: 'h:1' } }), ['tok']);
    await handle({ type: 'terminate', backend_id: 'b2', kind: 'soft', reason: 'external' });
    expect(fake.state('b2')).toMatchObject({ status: 'terminated', termination_reason: 'lost', last_status: 'ready', exit_code: null });
    expect(fake.tokens.get('b2')).toEqual([]);
    expect(fake.keysHeld.size).toBe(0);
    expect(lost).toEqual(['lost']);
    await handle({ type: 'terminate', backend_id: 'b2', kind: 'soft', reason: 'external' });
    expect(lost).toEqual(['lost']);
  });

  it('leaves alone a backend of another drone', async () => {
    const { fake, handle } = harness();
    fake.add(backendRecord('b3', { drone: 'dr-other', state: { status: 'ready', time: 1 } }));
    await handle({ type: 'terminate', backend_id: 'b3', kind: 'hard', reason: 'external' });
    expect(fake.state('b3')?.status).toBe('ready');
    expect(fake.keysHeld.size).toBe(1);
  });

  it('asks for redelivery when NATS cannot be reached', async () => {
    const { fake, handle } = harness();
    fake.add(backendRecord('b4'));
    fake.failures = 10;
    await expect(handle({ type: 'terminate', backend_id: 'b4', kind: 'hard', reason: 'external' })).rejects.toBeInstanceOf(WorkRetryError);
  });

  it('takes a burst of spawns without waiting for their status writes; a spawn it cannot record is dropped', async () => {
    const { fake, executor, runners, handle, tracked } = harness();
    const http = await tcpServer();
    executor.outcome = { address: http.address };
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const transition = fake.backends.transition;
    fake.backends.transition = async (id, next) => {
      await gate; // NATS is slow: no status write completes until the whole burst was taken
      return transition(id, next);
    };
    for (let i = 0; i < 20; i++) fake.add(backendRecord(`s${i}`));
    for (let i = 0; i < 20; i++) await handle(spawnWork(`s${i}`));
    expect(runners.size).toBe(20);
    expect(tracked).toEqual([]); // not accepted yet: no lease, no metrics
    // A terminate arriving meanwhile finds its runner and is applied after the accept.
    const terminated = handle({ type: 'terminate', backend_id: 's0', kind: 'hard', reason: 'external' });
    open();
    await terminated;
    await waitFor(() => tracked.length === 20);
    await waitFor(() => [...Array(20).keys()].slice(1).every((i) => fake.state(`s${i}`)?.status === 'ready'));
    await waitFor(() => fake.state('s0')?.status === 'terminated');
    expect(fake.statuses('s0')).toEqual(['scheduled', 'loading', 'terminating:hard', 'terminated']);
    expect(fake.state('s0')).toMatchObject({ termination_reason: 'external' });

    fake.backends.transition = transition;
    fake.add(backendRecord('s-nats-down'));
    fake.failures = 10;
    await handle(spawnWork('s-nats-down'));
    await waitFor(() => !runners.has('s-nats-down'));
    expect(fake.state('s-nats-down')?.status).toBe('scheduled');
    expect(tracked).not.toContain('s-nats-down');
    for (const r of [...runners.values()]) void r.terminate('hard', 'external');
    await waitFor(() => runners.size === 0);
    await http.close();
  });
});
