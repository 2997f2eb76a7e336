import { describe, expect, it } from 'vitest';
import { isForwardTransition, type BackendRecord, type DroneRecord, type JetPlaneEvent, type KeyRecord } from '@jetplane/protocol';
import { keyId, type Versioned } from '@jetplane/nats';
import { createLogger } from '@jetplane/observability';
import { DroneDirectory } from './drone-directory.js';
import { Fencing } from './fencing.js';
import { KeyLeaseView } from './key-leases.js';
import { LiveBackendIndex, startReaper } from './reaper.js';

const log = createLogger({ component: 'test', level: 'silent' });
const conflict = (): Error => new Error('wrong last sequence');

function drone(name: string, heartbeat_at: number, state: DroneRecord['state'] = 'ready'): DroneRecord {
  return { name, cluster: 'c1:9090', pool: '', executors: ['process'], state, backends: 1, max_backends: null, version: '0', started_at: 0, heartbeat_at };
}

function backend(id: string, droneName: string, name = `key-${id}`): BackendRecord {
  return {
    id,
    cluster: 'c1:9090',
    pool: '',
    drone: droneName,
    key: { namespace: '', name, tag: '' },
    executable: { command: ['node'] },
    state: { status: 'ready', time: 0 },
    static_token: null,
    subdomain: null,
    lifetime_limit_seconds: null,
    max_idle_seconds: null,
    fencing_token: 1,
    created_at: 0,
  };
}

/** In-memory KV with one revision sequence, like JetStream. */
function world() {
  let seq = 0;
  let mono = 0;
  const keys = new Map<string, Versioned<KeyRecord>>();
  const backends = new Map<string, Versioned<BackendRecord>>();
  const drones = new Map<string, Versioned<DroneRecord>>();
  const events: Array<{ event: JetPlaneEvent; msgId?: string }> = [];
  const revoked: string[] = [];
  const directory = new DroneDirectory({ unhealthyAfterMs: 15_000, retryAfterSeconds: 5, monotonic: () => mono });
  const leases = new KeyLeaseView(60_000, () => mono);
  const index = new LiveBackendIndex();
  const kid = (ns: string, name: string) => keyId(ns, name);
  const putDrone = (r: DroneRecord) => {
    drones.set(r.name, { value: r, revision: ++seq });
    directory.update(r);
  };
  const putBackend = (r: BackendRecord) => {
    backends.set(r.id, { value: r, revision: ++seq });
    index.put(r);
    const id = kid(r.key.namespace, r.key.name);
    const k: KeyRecord = { namespace: r.key.namespace, name: r.key.name, tag: '', backend_id: r.id, acquired_at: 0 };
    keys.set(id, { value: k, revision: ++seq });
    leases.put(id, seq, k);
  };
  const deps = {
    keys: {
      get: async (ns: string, name: string) => keys.get(kid(ns, name)) ?? null,
      releaseAt: async (ns: string, name: string, revision: number) => {
        const cur = keys.get(kid(ns, name));
        if (!cur || cur.revision !== revision) return false;
        keys.delete(kid(ns, name));
        leases.remove(kid(ns, name));
        return true;
      },
    },
    backends: {
      transition: async (id: string, next: (r: BackendRecord) => BackendRecord['state'] | undefined) => {
        const cur = backends.get(id);
        if (!cur) return undefined;
        const state = next(cur.value);
        if (!state || !isForwardTransition(cur.value.state, state)) return undefined;
        const after = { ...cur.value, state };
        backends.set(id, { value: after, revision: ++seq });
        index.put(after);
        return { before: cur.value, after };
      },
    },
    tokens: {
      revokeBackend: async (id: string) => {
        revoked.push(id);
        return [`hash-${id}`];
      },
    },
    drones: {
      get: async (name: string) => drones.get(name) ?? null,
      update: async (r: DroneRecord, revision: number) => {
        const cur = drones.get(r.name);
        if (!cur || cur.revision !== revision) throw conflict();
        drones.set(r.name, { value: r, revision: ++seq });
        directory.update(r);
        return seq;
      },
    },
    events: {
      publish: async (event: JetPlaneEvent, msgId?: string) => {
        events.push({ event, ...(msgId ? { msgId } : {}) });
      },
    },
    directory,
    leases,
    timing: { droneLostAfterMs: 30_000 },
    log,
    monotonic: () => mono,
  };
  return {
    keys,
    backends,
    drones,
    events,
    revoked,
    directory,
    leases,
    index,
    putDrone,
    putBackend,
    fencing: () => new Fencing(deps),
    deps,
    advance(ms: number) {
      mono += ms;
    },
  };
}

describe('Fencing and the lifecycle sweep', () => {
  it('a silent drone is marked lost once (drone.lost), its backends end lost, tokens revoked, keys freed', async () => {
    const w = world();
    w.putDrone(drone('dr-a', 1));
    w.putBackend(backend('b1', 'dr-a'));
    const fencing = w.fencing();
    const reaper = startReaper({ fencing, index: w.index, directory: w.directory, leases: w.leases, keys: w.deps.keys, intervalMs: 60_000, log });
    w.advance(30_000);
    await reaper.sweep();
    expect(w.backends.get('b1')!.value.state.status).toBe('ready'); // not yet: 30 s is not more than 30 s
    w.advance(1);
    await reaper.sweep();
    expect(w.drones.get('dr-a')!.value.state).toBe('lost');
    expect(w.backends.get('b1')!.value.state).toMatchObject({ status: 'terminated', termination_reason: 'lost', last_status: 'ready' });
    expect(w.keys.size).toBe(0);
    expect(w.revoked).toEqual(['b1']);
    expect(w.events.map((e) => e.event.type)).toEqual(['drone.lost', 'backend.status', 'token.revoked']);
    await reaper.sweep();
    expect(w.events).toHaveLength(3); // idempotent
    reaper.stop();
  });

  it('a heartbeat stored but not yet seen here wins: nothing is taken over', async () => {
    const w = world();
    w.putDrone(drone('dr-a', 1));
    w.putBackend(backend('b1', 'dr-a'));
    const fencing = w.fencing();
    w.advance(31_000);
    // The drone beat again; this controller's watch has not delivered it.
    const cur = w.drones.get('dr-a')!;
    w.drones.set('dr-a', { value: { ...cur.value, heartbeat_at: 2 }, revision: cur.revision + 100 });
    expect(await fencing.confirmGone('dr-a')).toBe(false);
    expect(await fencing.staleHolder(w.backends.get('b1')!.value, w.keys.get(keyId('', 'key-b1'))!)).toBeNull();
  });

  it('a draining or stopped drone\'s leftovers are handled too; a stopped drone is not relabelled lost', async () => {
    const w = world();
    w.putDrone(drone('dr-s', 1, 'stopped'));
    w.putBackend(backend('b2', 'dr-s'));
    const fencing = w.fencing();
    const reaper = startReaper({ fencing, index: w.index, directory: w.directory, leases: w.leases, keys: w.deps.keys, intervalMs: 60_000, log });
    w.advance(31_000);
    await reaper.sweep();
    expect(w.drones.get('dr-s')!.value.state).toBe('stopped');
    expect(w.backends.get('b2')!.value.state.termination_reason).toBe('lost');
    expect(w.events.some((e) => e.event.type === 'drone.lost')).toBe(false);
    reaper.stop();
  });

  it('an expired key lease on a live drone → keyexpired, but a renewal seen meanwhile wins', async () => {
    const w = world();
    w.putDrone(drone('dr-a', 1));
    w.putBackend(backend('b1', 'dr-a'));
    w.putBackend(backend('b2', 'dr-a'));
    const fencing = w.fencing();
    const reaper = startReaper({ fencing, index: w.index, directory: w.directory, leases: w.leases, keys: w.deps.keys, intervalMs: 60_000, log });
    // The drone keeps heartbeating, but only b2's key was renewed (in KV; this view has not seen it yet).
    for (let i = 0; i < 13; i++) {
      w.advance(5_000);
      const d = w.drones.get('dr-a')!;
      w.putDrone({ ...d.value, heartbeat_at: d.value.heartbeat_at + 1 });
    }
    const k2 = w.keys.get(keyId('', 'key-b2'))!;
    w.keys.set(keyId('', 'key-b2'), { value: k2.value, revision: k2.revision + 1_000 });
    await reaper.sweep();
    expect(w.backends.get('b1')!.value.state).toMatchObject({ status: 'terminated', termination_reason: 'keyexpired' });
    expect(w.backends.get('b2')!.value.state.status).toBe('ready');
    expect(w.keys.has(keyId('', 'key-b2'))).toBe(true);
    expect(w.leases.isExpired('', 'key-b2', k2.revision + 1_000)).toBe(false); // the view caught up
    reaper.stop();
  });

  it('staleHolder: lost for a gone drone, keyexpired for an old lease, null otherwise', async () => {
    const w = world();
    w.putDrone(drone('dr-a', 1));
    w.putBackend(backend('b1', 'dr-a'));
    const fencing = w.fencing();
    const held = () => w.keys.get(keyId('', 'key-b1'))!;
    expect(await fencing.staleHolder(w.backends.get('b1')!.value, held())).toBeNull();
    w.advance(30_001);
    expect(await fencing.staleHolder(w.backends.get('b1')!.value, held())).toBe('lost');
  });

  it('LiveBackendIndex tracks backends not terminated, per drone', () => {
    const index = new LiveBackendIndex();
    index.put(backend('b1', 'dr-a'));
    index.put(backend('b2', 'dr-a'));
    index.put({ ...backend('b1', 'dr-a'), state: { status: 'terminated', time: 1 } });
    expect(index.liveOn('dr-a')).toEqual(['b2']);
    index.put({ ...backend('b2', 'dr-b') });
    expect(index.liveOn('dr-a')).toEqual([]);
    expect(index.dronesWithLiveBackends()).toEqual(['dr-b']);
    index.remove('b2');
    expect(index.dronesWithLiveBackends()).toEqual([]);
  });
});
