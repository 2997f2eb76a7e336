import { afterEach, describe, expect, it } from 'vitest';
import { hashToken, tokenFingerprint } from '@jetplane/nats';
import { spawnWorkOf, type TerminationReason } from '@jetplane/protocol';
import { BackendRunner, type SpawnWork } from './backend-runner.js';
import { FakeExecutor, FakeStores, backendRecord, silentLog, tcpServer, waitFor } from './fakes.fixture.js';

const timing = { softTerminateGraceMs: 100, startupTimeoutMs: 2_000, readinessProbeIntervalMs: 10 };
const fastRetry = { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function spawnWork(id: string, staticToken: string | null = null): SpawnWork {
  return spawnWorkOf(backendRecord(id, { static_token: staticToken }));
}

async function setup(opts: { tokens?: string[]; staticToken?: string | null; timing?: Partial<typeof timing> } = {}) {
  const fake = new FakeStores();
  const executor = new FakeExecutor();
  const http = await tcpServer();
  cleanups.push(() => http.close());
  executor.outcome = { address: http.address };
  fake.add(backendRecord('b1', { static_token: opts.staticToken ?? null }), opts.tokens ?? []);
  const ended: TerminationReason[] = [];
  const runner = new BackendRunner(
    { stores: fake.stores, drone: 'dr-test', timing: { ...timing, ...opts.timing }, log: silentLog, executor, retry: fastRetry, onEnded: (r) => void ended.push(r) },
    spawnWork('b1', opts.staticToken ?? null),
  );
  return { fake, executor, runner, ended, http };
}

describe('BackendRunner', () => {
  it('walks loading → starting → waiting → ready, and a natural exit ends it (reason exit) and releases it', async () => {
    const { fake, executor, runner, ended, http } = await setup({ tokens: ['tok-a', 'tok-b'], staticToken: 's.static' });
    fake.tokens.get('b1')!.push(hashToken('s.static'));
    expect(await runner.accept()).toBe('accepted');
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'ready');
    expect(fake.state('b1')).toMatchObject({ status: 'ready', address: http.address });
    expect(executor.specs[0]!.env).toEqual({
      SESSION_BACKEND_ID: 'b1',
      SESSION_BACKEND_KEY: 'key-b1',
      SESSION_BACKEND_FENCING_TOKEN: '42',
      SESSION_BACKEND_STATIC_TOKEN: 's.static',
    });

    executor.backends[0]!.exit({ exitCode: 0, signal: null });
    await runner.done;
    expect(fake.statuses('b1')).toEqual(['scheduled', 'loading', 'starting', 'waiting', 'ready', 'terminated']);
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', last_status: 'ready', termination_reason: 'exit', exit_code: 0 });
    expect(ended).toEqual(['exit']);
    expect(fake.tokens.get('b1')).toEqual([]);
    expect(fake.keysHeld.size).toBe(0);

    const statusEvents = fake.events.filter((e) => e.event.type === 'backend.status');
    expect(statusEvents.map((e) => e.msgId)).toEqual(['b1:loading', 'b1:starting', 'b1:waiting', 'b1:ready', 'b1:terminated']);
    const revoked = fake.events.filter((e) => e.event.type === 'token.revoked').map((e) => e.event);
    expect(revoked).toHaveLength(3);
    expect(revoked).toContainEqual(expect.objectContaining({ fingerprint: tokenFingerprint(hashToken('s.static')), static: true }));
    expect(revoked).toContainEqual(expect.objectContaining({ fingerprint: tokenFingerprint(hashToken('tok-a')), static: false }));
    expect(JSON.stringify(fake.events)).not.toContain('tok-a');
  });

  it('declines a spawn whose record is already past scheduled', async () => {
    const { fake, runner } = await setup();
    fake.records.get('b1')!.value.state = { status: 'ready', time: 1 };
    expect(await runner.accept()).toBe('declined');
    await runner.done;
  });

  it('soft terminate: terminating(soft) then terminated with the reason', async () => {
    const { fake, executor, runner } = await setup();
    await runner.accept();
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'ready');
    await runner.terminate('soft', 'external');
    await runner.done;
    expect(executor.backends[0]!.signals).toEqual(['soft']);
    expect(fake.statuses('b1')).toEqual(['scheduled', 'loading', 'starting', 'waiting', 'ready', 'terminating:soft', 'terminated']);
    expect(fake.state('b1')).toMatchObject({ termination_kind: 'soft', termination_reason: 'external', last_status: 'ready' });
  });

  it('soft terminate escalates to SIGKILL after the grace period', async () => {
    const { fake, executor, runner } = await setup();
    executor.outcome.softExits = false;
    await runner.accept();
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'ready');
    const started = Date.now();
    void runner.terminate('soft', 'swept');
    await runner.done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(executor.backends[0]!.signals).toEqual(['soft', 'hard']);
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', termination_reason: 'swept', exit_code: 137 });
  });

  it('a hard terminate escalates a soft one (never the reverse)', async () => {
    const { fake, executor, runner } = await setup({ timing: { softTerminateGraceMs: 60_000 } });
    executor.outcome.softExits = false;
    await runner.accept();
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'ready');
    await runner.terminate('soft', 'external');
    await runner.terminate('hard', 'external');
    await runner.done;
    await runner.terminate('soft', 'external');
    expect(fake.statuses('b1').slice(-3)).toEqual(['terminating:soft', 'terminating:hard', 'terminated']);
    expect(fake.events.map((e) => e.msgId)).toContain('b1:terminating:hard');
  });

  it('a terminate while the backend is still starting ends it without running it (Q7)', async () => {
    const { fake, executor, runner } = await setup();
    let release!: () => void;
    executor.outcome.beforeStart = () => new Promise<void>((r) => (release = r));
    await runner.accept();
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'starting');
    const terminated = runner.terminate('hard', 'external');
    release();
    await terminated;
    await runner.done;
    expect(executor.backends).toHaveLength(0);
    expect(fake.statuses('b1')).toEqual(['scheduled', 'loading', 'starting', 'terminating:hard', 'terminated']);
    expect(fake.state('b1')).toMatchObject({ termination_reason: 'external', last_status: 'starting', exit_code: null });
    expect(fake.keysHeld.size).toBe(0);
  });

  it('a backend that never answers HTTP ends startuptimeout (hard)', async () => {
    const { fake, executor, runner } = await setup({ timing: { startupTimeoutMs: 200 } });
    const silent = await tcpServer('not http');
    cleanups.push(() => silent.close());
    executor.outcome.address = silent.address;
    await runner.accept();
    void runner.run();
    await runner.done;
    expect(executor.backends[0]!.signals).toEqual(['hard']);
    expect(fake.statuses('b1')).toEqual(['scheduled', 'loading', 'starting', 'waiting', 'terminating:hard', 'terminated']);
    expect(fake.state('b1')).toMatchObject({ termination_reason: 'startuptimeout', termination_kind: 'hard', last_status: 'waiting' });
  });

  it('a backend that cannot be started ends failed with a message', async () => {
    const { fake, executor, runner, ended } = await setup();
    executor.outcome.fail = 'cannot start "x": spawn x ENOENT';
    await runner.accept();
    await runner.run();
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', termination_reason: 'failed', message: 'cannot start "x": spawn x ENOENT' });
    expect(ended).toEqual(['failed']);
  });

  it('retries record writes through NATS errors', async () => {
    const { fake, executor, runner } = await setup();
    await runner.accept();
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'ready');
    fake.failures = 2;
    executor.backends[0]!.exit({ exitCode: 1, signal: null });
    await runner.done;
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', exit_code: 1 });
    expect(fake.keysHeld.size).toBe(0);
  });

  it('kills the backend when its record was ended elsewhere', async () => {
    const { fake, executor, runner } = await setup();
    await runner.accept();
    void runner.run();
    await waitFor(() => fake.state('b1')?.status === 'ready');
    const entry = fake.records.get('b1')!;
    entry.value = { ...entry.value, state: { status: 'terminated', time: 2, termination_reason: 'lost' } };
    await runner.verifyRecord();
    await runner.done;
    expect(executor.backends[0]!.signals).toEqual(['hard']);
    expect(fake.state('b1')).toMatchObject({ status: 'terminated', termination_reason: 'lost' });
    expect(fake.keysHeld.size).toBe(0);
  });
});
