import { describe, it, expect } from 'vitest';
import { ApiError, type DroneRecord } from '@jetplane/protocol';
import { DroneDirectory } from './drone-directory.js';

function drone(name: string, over: Partial<DroneRecord> = {}): DroneRecord {
  return {
    name,
    cluster: 'c1:9090',
    pool: '',
    executors: ['process'],
    state: 'ready',
    backends: 0,
    max_backends: null,
    version: '0.1.0',
    started_at: 0,
    heartbeat_at: 1,
    ...over,
  };
}

function setup(random = () => 0) {
  let now = 100_000;
  const dir = new DroneDirectory({ unhealthyAfterMs: 15_000, retryAfterSeconds: 5, now: () => now, random });
  return { dir, advance: (ms: number) => (now += ms), at: () => now };
}

function pickError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected pick to fail');
}

describe('DroneDirectory.pick', () => {
  it('only picks ready, healthy drones of the cluster, pool and executor', () => {
    const { dir } = setup();
    dir.update(drone('dr-other-cluster', { cluster: 'c2' }));
    dir.update(drone('dr-other-pool', { pool: 'gpu' }));
    dir.update(drone('dr-docker', { executors: ['docker'] }));
    dir.update(drone('dr-draining', { state: 'draining' }));
    dir.update(drone('dr-ok'));
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-ok');
    expect(dir.pick('c1:9090', 'gpu', 'process')).toBe('dr-other-pool');
    expect(dir.pick('c1:9090', '', 'docker')).toBe('dr-docker');
    const err = pickError(() => dir.pick('c3', '', 'process'));
    expect(err.kind).toBe('NoDroneAvailable');
    expect(err.status).toBe(500);
  });

  it('judges liveness by receipt time on its own clock', () => {
    const { dir, advance } = setup();
    dir.update(drone('dr-a', { heartbeat_at: 999_999_999 })); // drone clock is irrelevant
    advance(15_000);
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-a');
    advance(1);
    expect(pickError(() => dir.pick('c1:9090', '', 'process')).kind).toBe('NoDroneAvailable');
    dir.update(drone('dr-a', { heartbeat_at: 2 }));
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-a');
  });

  it('does not take an edit without a new heartbeat as a sign of life', () => {
    const { dir, advance } = setup();
    dir.update(drone('dr-a', { heartbeat_at: 5 }));
    advance(20_000);
    dir.update(drone('dr-a', { heartbeat_at: 5, state: 'draining' }));
    expect(dir.get('dr-a')?.record.state).toBe('draining');
    expect(dir.list()[0]?.healthy).toBe(false);
  });

  it('picks the least loaded, counting spawns sent since the last report', () => {
    const { dir } = setup();
    dir.update(drone('dr-a', { backends: 2 }));
    dir.update(drone('dr-b', { backends: 0 }));
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-b'); // b: 0+1
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-b'); // b: 1+1 ties a: 2, random 0 → first
    const third = dir.pick('c1:9090', '', 'process');
    expect(['dr-a', 'dr-b']).toContain(third);
    dir.update(drone('dr-b', { backends: 5, heartbeat_at: 9 })); // new report resets the pending count
    expect(dir.get('dr-b')?.pendingSpawns).toBe(0);
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-a');
  });

  it('breaks ties at random', () => {
    const seen = new Set<string>();
    for (const r of [0, 0.4, 0.6, 0.99]) {
      const { dir } = setup(() => r);
      dir.update(drone('dr-a'));
      dir.update(drone('dr-b'));
      seen.add(dir.pick('c1:9090', '', 'process'));
    }
    expect(seen).toEqual(new Set(['dr-a', 'dr-b']));
  });

  it('answers TooManyBackends when every eligible drone is full, and cancelSpawn frees a slot', () => {
    const { dir } = setup();
    dir.update(drone('dr-a', { max_backends: 1 }));
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-a');
    const err = pickError(() => dir.pick('c1:9090', '', 'process'));
    expect(err.kind).toBe('TooManyBackends');
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBe(5);
    dir.cancelSpawn('dr-a');
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-a');
  });

  it('never counts fewer backends than the backend records show (a heartbeat may predate spawns)', () => {
    const live = new Map([['dr-a', 2]]);
    const dir = new DroneDirectory({ unhealthyAfterMs: 15_000, retryAfterSeconds: 5, liveBackends: (d) => live.get(d) ?? 0 });
    // The heartbeat says 0 and resets the spawns this controller sent, yet two records name dr-a.
    dir.update(drone('dr-a', { max_backends: 2, backends: 0, heartbeat_at: Date.now() }));
    expect(pickError(() => dir.pick('c1:9090', '', 'process')).kind).toBe('TooManyBackends');
    live.set('dr-a', 1);
    expect(dir.pick('c1:9090', '', 'process')).toBe('dr-a');
  });

  it('forgets deleted drones', () => {
    const { dir } = setup();
    dir.update(drone('dr-a'));
    dir.remove('dr-a');
    expect(pickError(() => dir.pick('c1:9090', '', 'process')).kind).toBe('NoDroneAvailable');
  });
});

describe('DroneDirectory.list', () => {
  it('filters, sorts and reports heartbeat age', () => {
    const { dir, advance } = setup();
    dir.update(drone('dr-b', { pool: 'p' }));
    advance(1_000);
    dir.update(drone('dr-a', { max_backends: 3, backends: 1 }));
    advance(500);
    expect(dir.list().map((d) => d.name)).toEqual(['dr-a', 'dr-b']);
    expect(dir.list({ pool: 'p' }).map((d) => d.name)).toEqual(['dr-b']);
    expect(dir.list({ state: 'draining' })).toEqual([]);
    expect(dir.list({ cluster: 'c1:9090', pool: '' })).toEqual([
      {
        name: 'dr-a',
        cluster: 'c1:9090',
        pool: '',
        state: 'ready',
        healthy: true,
        executors: ['process'],
        backends: 1,
        max_backends: 3,
        last_heartbeat_age_ms: 500,
      },
    ]);
  });
});
