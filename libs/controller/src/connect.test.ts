import { describe, it, expect } from 'vitest';
import {
  ApiError,
  isForwardTransition,
  type BackendRecord,
  type BackendState,
  type DroneWork,
  type JetPlaneEvent,
  type KeyRecord,
  type TokenRecord,
} from '@jetplane/protocol';
import { hashToken } from '@jetplane/nats';
import { createLogger } from '@jetplane/observability';
import { connect, type ConnectDeps } from './connect.js';
import { DroneDirectory } from './drone-directory.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const conflict = (): Error => new Error('wrong last sequence');

/** In-memory stand-ins with the same atomicity as the KV stores (one shared revision sequence). */
function fakes() {
  let seq = 0;
  let clock = 1_000_000;
  const keys = new Map<string, { value: KeyRecord; revision: number }>();
  const backends = new Map<string, { value: BackendRecord; revision: number }>();
  const sent: Array<{ drone: string; work: DroneWork; msgId?: string }> = [];
  const issued: Array<{ token: string; record: TokenRecord }> = [];
  const events: JetPlaneEvent[] = [];
  const revoked: string[] = [];
  const kid = (ns: string, name: string) => JSON.stringify([ns, name]);
  let failWork = false;

  const directory = new DroneDirectory({ unhealthyAfterMs: 15_000, retryAfterSeconds: 5, now: () => clock });
  directory.update({
    name: 'dr-1',
    cluster: 'c1:9090',
    pool: '',
    executors: ['process'],
    state: 'ready',
    backends: 0,
    max_backends: null,
    version: '0',
    started_at: 0,
    heartbeat_at: 0,
  });

  const deps: ConnectDeps = {
    keys: {
      async acquire(record) {
        await tick();
        const id = kid(record.namespace, record.name);
        if (keys.has(id)) return undefined;
        keys.set(id, { value: record, revision: ++seq });
        return seq;
      },
      async get(ns, name) {
        await tick();
        const found = keys.get(kid(ns, name));
        return found ? { ...found } : null;
      },
      async releaseAt(ns, name, revision) {
        await tick();
        const id = kid(ns, name);
        if (keys.get(id)?.revision !== revision) return false;
        keys.delete(id);
        seq++;
        return true;
      },
    },
    backends: {
      async create(record) {
        await tick();
        if (backends.has(record.id)) throw conflict();
        backends.set(record.id, { value: record, revision: ++seq });
        return seq;
      },
      async get(id) {
        await tick();
        const found = backends.get(id);
        return found ? { ...found } : null;
      },
      async transition(id, next) {
        const current = backends.get(id);
        if (!current) return undefined;
        const state = next(current.value);
        if (!state || !isForwardTransition(current.value.state, state)) return undefined;
        const after = { ...current.value, state };
        backends.set(id, { value: after, revision: ++seq });
        return { before: current.value, after };
      },
    },
    tokens: {
      async issue(token, record) {
        await tick();
        issued.push({ token, record });
        return hashToken(token);
      },
      async revokeBackend(id) {
        revoked.push(id);
        return [];
      },
    },
    events: {
      async publish(event) {
        events.push(event);
      },
      announce(event) {
        events.push(event);
      },
    },
    work: {
      async send(drone, work, msgId) {
        await tick();
        if (failWork) throw new Error('no JetStream');
        sent.push({ drone, work, ...(msgId ? { msgId } : {}) });
      },
    },
    directory,
    publicUrl: () => 'http://ctl.test:8080',
    defaultCluster: 'c1:9090',
    timing: { orphanKeyAfterMs: 30_000 },
    log: createLogger({ component: 'test', level: 'silent' }),
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      await tick();
    },
    recordWaitMs: 1_000,
    terminatingWaitMs: 2_000,
  };

  const setState = (id: string, state: BackendState) => {
    const found = backends.get(id)!;
    backends.set(id, { value: { ...found.value, state }, revision: ++seq });
  };
  return {
    deps,
    keys,
    backends,
    sent,
    issued,
    events,
    revoked,
    setState,
    advance: (ms: number) => (clock += ms),
    failWork: (v: boolean) => (failWork = v),
    spawns: () => sent.filter((s) => s.work.type === 'spawn'),
    putKey: (record: KeyRecord) => {
      keys.set(kid(record.namespace, record.name), { value: record, revision: ++seq });
      return seq;
    },
  };
}

const exe = { command: ['node', 'server.js'] };
const spawnReq = (over: Record<string, unknown> = {}) => ({ key: { name: 'k1' }, spawn_config: { executable: exe, ...over } });

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError');
}

describe('connect', () => {
  it('spawns a new backend with Plane response fields', async () => {
    const f = fakes();
    const res = await connect(f.deps, { ...spawnReq(), user: 'alice', auth: { role: 'x' } });
    expect(res).toMatchObject({ spawned: true, status: 'scheduled', subdomain: null, drone: 'dr-1' });
    expect(res.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.secret_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.url).toBe(`http://c1:9090/${res.token}/`);
    expect(res.status_url).toBe(`http://ctl.test:8080/pub/b/${res.backend_id}/status`);

    const [spawn] = f.spawns();
    expect(spawn?.drone).toBe('dr-1');
    expect(spawn?.msgId).toBe(`spawn:${res.backend_id}`);
    expect(spawn?.work).toMatchObject({ backend_id: res.backend_id, cluster: 'c1:9090', key: { name: 'k1', namespace: '', tag: '' } });
    const record = f.backends.get(res.backend_id)!.value;
    expect(record.fencing_token).toBe((spawn?.work as { fencing_token: number }).fencing_token);
    expect(record.state.status).toBe('scheduled');

    expect(f.issued[0]?.record).toMatchObject({ backend_id: res.backend_id, user: 'alice', auth: { role: 'x' }, secret_token: res.secret_token, static: false });
    await tick(); // token.issued is announced after the answer
    expect(f.events.map((e) => e.type).sort()).toEqual(['backend.status', 'token.issued']);
    const serialized = JSON.stringify(f.events);
    expect(serialized).not.toContain(res.token);
    expect(serialized).not.toContain(res.secret_token!);
    expect(serialized).not.toContain('role');
  });

  it('30 concurrent connects for one new key spawn exactly once', async () => {
    const f = fakes();
    const results = await Promise.all(Array.from({ length: 30 }, () => connect(f.deps, spawnReq())));
    expect(f.spawns()).toHaveLength(1);
    expect(new Set(results.map((r) => r.backend_id)).size).toBe(1);
    expect(results.filter((r) => r.spawned)).toHaveLength(1);
    expect(new Set(results.map((r) => r.token)).size).toBe(30);
    expect(results.filter((r) => !r.spawned).every((r) => r.drone === null)).toBe(true);
  });

  it('returns the existing backend for a held key with a matching tag', async () => {
    const f = fakes();
    const first = await connect(f.deps, spawnReq());
    f.setState(first.backend_id, { status: 'ready', time: 5 });
    const again = await connect(f.deps, { key: { name: 'k1' } });
    expect(again).toMatchObject({ backend_id: first.backend_id, spawned: false, status: 'ready', drone: null });
    expect(again.token).not.toBe(first.token);
    expect(f.spawns()).toHaveLength(1);
  });

  it('reads the backend it expects together with the key, and trusts only a guess the key confirms', async () => {
    const f = fakes();
    const first = await connect(f.deps, spawnReq());
    f.setState(first.backend_id, { status: 'ready', time: 5 });
    const reads: string[] = [];
    const { get: getKey } = f.deps.keys;
    const { get: getBackend } = f.deps.backends;
    let guess: string | undefined = first.backend_id;
    const deps: ConnectDeps = {
      ...f.deps,
      holderOf: () => guess,
      keys: {
        ...f.deps.keys,
        get: async (ns, name) => {
          reads.push('key');
          const found = await getKey(ns, name);
          reads.push('key read');
          return found;
        },
      },
      backends: {
        ...f.deps.backends,
        get: async (id) => {
          reads.push(`backend ${id}`);
          if (id === 'unreadable') throw new Error('timeout');
          return getBackend(id);
        },
      },
    };

    const again = await connect(deps, { key: { name: 'k1' } });
    expect(again).toMatchObject({ backend_id: first.backend_id, spawned: false, status: 'ready' });
    expect(reads).toEqual(['key', `backend ${first.backend_id}`, 'key read']);

    // A stale guess: the key's own backend is read after the key.
    reads.length = 0;
    guess = 'someone-else';
    expect((await connect(deps, { key: { name: 'k1' } })).backend_id).toBe(first.backend_id);
    expect(reads).toEqual(['key', 'backend someone-else', 'key read', `backend ${first.backend_id}`]);

    // A failed guess does not fail the connect.
    guess = 'unreadable';
    expect((await connect(deps, { key: { name: 'k1' } })).backend_id).toBe(first.backend_id);
  });

  it('still waits for a backend record the key names but a parallel read did not find', async () => {
    const f = fakes();
    f.putKey({ namespace: '', name: 'k1', tag: '', backend_id: 'racing', acquired_at: 1_000_000 });
    const err = await failure(connect({ ...f.deps, holderOf: () => 'racing' }, spawnReq()));
    expect(err.kind).toBe('FailedToAcquireKey');
    expect(f.keys.size).toBe(1);
  });

  it('rejects a tag mismatch with 409 KeyHeld', async () => {
    const f = fakes();
    await connect(f.deps, { key: { name: 'k1', tag: 'a' }, spawn_config: { executable: exe } });
    const err = await failure(connect(f.deps, { key: { name: 'k1', tag: 'b' } }));
    expect([err.kind, err.status]).toEqual(['KeyHeld', 409]);
  });

  it('needs a spawn config for an unheld key, and a cluster', async () => {
    const f = fakes();
    const err = await failure(connect(f.deps, { key: { name: 'nope' } }));
    expect([err.kind, err.status]).toEqual(['KeyUnheldNoSpawnConfig', 409]);
    expect((await failure(connect(f.deps, {}))).kind).toBe('KeyUnheldNoSpawnConfig');
    const { defaultCluster: _omit, ...noDefault } = f.deps;
    expect((await failure(connect(noDefault, spawnReq()))).kind).toBe('NoClusterProvided');
    expect((await failure(connect(f.deps, spawnReq({ cluster: 'bad cluster' })))).kind).toBe('InvalidClusterName');
    expect((await failure(connect(f.deps, spawnReq({ cluster: 'c9:1' })))).kind).toBe('NoDroneAvailable');
    expect(f.keys.size).toBe(0);
  });

  it('makes a random lk- key when none is given', async () => {
    const f = fakes();
    const a = await connect(f.deps, { spawn_config: { executable: exe } });
    const b = await connect(f.deps, { spawn_config: { executable: exe } });
    expect(a.backend_id).not.toBe(b.backend_id);
    expect(f.backends.get(a.backend_id)!.value.key.name).toMatch(/^lk-[a-z0-9]{14}$/);
  });

  it('reuses a static token and never issues it twice', async () => {
    const f = fakes();
    const first = await connect(f.deps, spawnReq({ use_static_token: true, subdomain: 'app' }));
    expect(first.token).toMatch(/^s\.[A-Za-z0-9_-]{43}$/);
    expect(first.secret_token).toBeNull();
    expect(first.url).toBe(`http://app.c1:9090/${first.token}/`);
    expect(f.issued[0]?.record).toMatchObject({ static: true, auth: null, secret_token: '' });
    expect(f.backends.get(first.backend_id)!.value.static_token).toBe(first.token);
    const again = await connect(f.deps, { key: { name: 'k1' }, user: 'bob' });
    expect([again.token, again.secret_token, again.subdomain]).toEqual([first.token, null, 'app']);
    expect(f.issued).toHaveLength(1);
  });

  it('frees a key still held by a terminated backend and spawns anew with a higher fencing token', async () => {
    const f = fakes();
    const first = await connect(f.deps, spawnReq());
    f.setState(first.backend_id, { status: 'terminated', time: 9, termination_reason: 'exit', exit_code: 0 });
    const second = await connect(f.deps, spawnReq());
    expect(second.spawned).toBe(true);
    expect(second.backend_id).not.toBe(first.backend_id);
    const fence = (id: string) => f.backends.get(id)!.value.fencing_token;
    expect(fence(second.backend_id)).toBeGreaterThan(fence(first.backend_id));
  });

  it('waits for a terminating backend, then spawns anew', async () => {
    const f = fakes();
    const first = await connect(f.deps, spawnReq());
    f.setState(first.backend_id, { status: 'terminating', time: 9, termination_kind: 'soft', termination_reason: 'external' });
    const pending = connect(f.deps, spawnReq());
    for (let i = 0; i < 5; i++) await tick();
    f.setState(first.backend_id, { status: 'terminated', time: 10 });
    const second = await pending;
    expect(second.spawned).toBe(true);
    expect(second.backend_id).not.toBe(first.backend_id);
  });

  it('answers 409 KeyHeld when a terminating backend does not end in time', async () => {
    const f = fakes();
    const first = await connect(f.deps, spawnReq());
    f.setState(first.backend_id, { status: 'terminating', time: 9, termination_kind: 'soft', termination_reason: 'external' });
    const err = await failure(connect(f.deps, spawnReq()));
    expect([err.kind, err.status]).toEqual(['KeyHeld', 409]);
    expect(err.message).toMatch(/terminating/);
  });

  it('releases an orphaned key whose backend never appeared', async () => {
    const f = fakes();
    f.putKey({ namespace: '', name: 'k1', tag: '', backend_id: 'ghost', acquired_at: 1_000_000 - 31_000 });
    const res = await connect(f.deps, spawnReq());
    expect(res.spawned).toBe(true);
    expect(res.backend_id).not.toBe('ghost');
  });

  it('gives up on a young key whose backend record does not appear', async () => {
    const f = fakes();
    f.putKey({ namespace: '', name: 'k1', tag: '', backend_id: 'racing', acquired_at: 1_000_000 });
    const err = await failure(connect(f.deps, spawnReq()));
    expect(err.kind).toBe('FailedToAcquireKey');
    expect(f.keys.size).toBe(1); // not ours to release yet
  });

  it('rejects a duplicate forced id and frees the key', async () => {
    const f = fakes();
    await connect(f.deps, { key: { name: 'a' }, spawn_config: { executable: exe, id: 'fixed-id' } });
    const err = await failure(connect(f.deps, { key: { name: 'b' }, spawn_config: { executable: exe, id: 'fixed-id' } }));
    expect([err.kind, err.status]).toEqual(['FailedToAcquireKey', 500]);
    expect([...f.keys.values()].map((k) => k.value.name)).toEqual(['a']);
  });

  it('ends the backend and frees the key when the spawn cannot be queued', async () => {
    const f = fakes();
    f.failWork(true);
    await expect(connect(f.deps, spawnReq())).rejects.toThrow('no JetStream');
    const [record] = [...f.backends.values()];
    expect(record?.value.state).toMatchObject({ status: 'terminated', termination_reason: 'failed' });
    expect(f.keys.size).toBe(0);
    expect(f.revoked).toEqual([record?.value.id]);
    f.failWork(false);
    expect((await connect(f.deps, spawnReq())).spawned).toBe(true);
  });
});
