import { describe, it, expect } from 'vitest';
import type { BackendRecord, DroneRecord, DroneWork, JetPlaneEvent } from '@jetplane/protocol';
import { createLogger } from '@jetplane/observability';
import { terminate } from './terminate.js';
import { drain } from './drain.js';
import { errorReply, parseBody } from './nats-handlers.js';
import { ApiError } from '@jetplane/protocol';

const log = createLogger({ component: 'test', level: 'silent' });

function backend(status: BackendRecord['state']['status']): BackendRecord {
  return {
    id: 'b1',
    cluster: 'c1',
    pool: '',
    drone: 'dr-1',
    key: { name: 'k', namespace: '', tag: '' },
    executable: { command: ['x'] },
    state: { status, time: 1 },
    static_token: null,
    subdomain: null,
    lifetime_limit_seconds: null,
    max_idle_seconds: null,
    fencing_token: 1,
    created_at: 1,
  };
}

function terminateDeps(record: BackendRecord | null) {
  const sent: Array<{ drone: string; work: DroneWork }> = [];
  return {
    sent,
    deps: {
      backends: { get: async () => (record ? { value: record, revision: 1 } : null) },
      work: { send: async (drone: string, work: DroneWork) => void sent.push({ drone, work }) },
      log,
    },
  };
}

describe('terminate', () => {
  it('sends soft then hard to the backend drone', async () => {
    const { deps, sent } = terminateDeps(backend('ready'));
    expect(await terminate(deps, { backendId: 'b1', kind: 'soft' })).toBe(true);
    expect(await terminate(deps, { backendId: 'b1', kind: 'hard', cluster: 'c1' })).toBe(true);
    expect(sent).toEqual([
      { drone: 'dr-1', work: { type: 'terminate', backend_id: 'b1', kind: 'soft', reason: 'external' } },
      { drone: 'dr-1', work: { type: 'terminate', backend_id: 'b1', kind: 'hard', reason: 'external' } },
    ]);
  });

  it('is a no-op for a terminated backend and 404 for unknown ones', async () => {
    const done = terminateDeps(backend('terminated'));
    expect(await terminate(done.deps, { backendId: 'b1', kind: 'soft' })).toBe(false);
    expect(done.sent).toEqual([]);
    await expect(terminate(terminateDeps(null).deps, { backendId: 'b1', kind: 'soft' })).rejects.toMatchObject({
      kind: 'NotFound',
      message: 'Backend does not exist',
    });
    await expect(terminate(terminateDeps(backend('ready')).deps, { backendId: 'b1', kind: 'soft', cluster: 'other' })).rejects.toMatchObject({
      kind: 'NotFound',
    });
  });
});

describe('drain', () => {
  function drainDeps(initial: DroneRecord | null, conflicts = 0) {
    let stored = initial ? { value: initial, revision: 1 } : null;
    let pendingConflicts = conflicts;
    const events: JetPlaneEvent[] = [];
    const deps = {
      drones: {
        get: async () => stored,
        update: async (record: DroneRecord, revision: number) => {
          if (pendingConflicts-- > 0) throw new Error('wrong last sequence');
          if (!stored || revision !== stored.revision) throw new Error('wrong last sequence');
          stored = { value: record, revision: stored.revision + 1 };
          return stored.revision;
        },
      },
      events: { publish: async (e: JetPlaneEvent) => void events.push(e) },
      log,
      now: () => 42,
    };
    return { deps, events, stored: () => stored };
  }
  const drone: DroneRecord = {
    name: 'dr-1',
    cluster: 'c1',
    pool: 'p',
    executors: ['process'],
    state: 'ready',
    backends: 0,
    max_backends: null,
    version: '0',
    started_at: 0,
    heartbeat_at: 0,
  };

  it('marks the drone draining once, retrying over heartbeat races', async () => {
    const d = drainDeps(drone, 2);
    expect(await drain(d.deps, 'c1', 'dr-1')).toEqual({ updated: true });
    expect(d.stored()?.value.state).toBe('draining');
    expect(d.events).toEqual([{ type: 'drone.draining', cluster: 'c1', time: 42, drone: 'dr-1', pool: 'p' }]);
    expect(await drain(d.deps, 'c1', 'dr-1')).toEqual({ updated: false });
    expect(d.events).toHaveLength(1);
  });

  it('404s unknown drones and drones of another cluster', async () => {
    await expect(drain(drainDeps(null).deps, 'c1', 'dr-1')).rejects.toMatchObject({ kind: 'NotFound', message: 'Drone does not exist' });
    await expect(drain(drainDeps(drone).deps, 'c2', 'dr-1')).rejects.toMatchObject({ kind: 'NotFound' });
  });
});

describe('NATS request bodies', () => {
  it('parses JSON, treats empty as missing, rejects garbage as InvalidRequest', () => {
    expect(parseBody(new TextEncoder().encode('{"a":1}'))).toEqual({ a: 1 });
    expect(parseBody(new Uint8Array())).toBeUndefined();
    expect(() => parseBody(new TextEncoder().encode('{nope'))).toThrow(ApiError);
  });

  it('wraps errors as {error, status}', () => {
    const err = new ApiError('KeyHeld');
    expect(errorReply(err)).toEqual({ error: { id: err.id, kind: 'KeyHeld', message: err.message }, status: 409 });
  });
});
