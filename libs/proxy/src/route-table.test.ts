import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BackendRecord, BackendState, TokenRecord } from '@jetplane/protocol';
import { hashToken } from '@jetplane/nats';
import { RouteTable, type RouteFetcher } from './route-table.js';
import { RouteUnavailable } from './route-errors.js';
import { resolveRoute } from './resolve.js';

const CLUSTER = 'localhost:9090';
const TOKEN = 'T'.repeat(43);
const HASH = hashToken(TOKEN);
const [H1, H2, H3] = ['1', '2', '3'].map((c) => hashToken(c.repeat(43))) as [string, string, string];

function token(over: Partial<TokenRecord> = {}): TokenRecord {
  return { backend_id: 'b1', cluster: CLUSTER, user: 'alice', auth: { role: 'admin' }, secret_token: 'sek', static: false, issued_at: 1, ...over };
}

function backend(state: Partial<BackendState> & Pick<BackendState, 'status'>, over: Partial<BackendRecord> = {}): BackendRecord {
  return {
    id: 'b1',
    cluster: CLUSTER,
    pool: '',
    drone: 'dr-1',
    key: { name: 'k', namespace: '', tag: '' },
    executable: { command: ['true'] },
    state: { time: 1, ...state },
    static_token: null,
    subdomain: null,
    lifetime_limit_seconds: null,
    max_idle_seconds: null,
    fencing_token: 1,
    created_at: 1,
    ...over,
  } as BackendRecord;
}

/** A fake KV: what `getToken` / `getBackend` answer, and how often they were asked. */
function fakeFetcher(tokens: Map<string, TokenRecord> = new Map(), backends: Map<string, BackendRecord> = new Map()) {
  const calls = { token: 0, backend: 0 };
  const fetcher: RouteFetcher = {
    getToken: async (hash) => {
      calls.token++;
      await new Promise((r) => setTimeout(r, 5));
      return tokens.get(hash) ?? null;
    },
    getBackend: async (id) => {
      calls.backend++;
      const value = backends.get(id);
      return value ? { value, revision: 1 } : null;
    },
  };
  return { fetcher, calls, tokens, backends };
}

const tables: RouteTable[] = [];
function newTable(fetcher: RouteFetcher, extra: { missGraceMs?: number; onBackendGone?: () => void } = {}): RouteTable {
  const t = new RouteTable({ cluster: CLUSTER, fetcher, missGraceMs: extra.missGraceMs ?? 20, onBackendGone: extra.onBackendGone });
  tables.push(t);
  return t;
}

afterEach(() => {
  for (const t of tables.splice(0)) t.close();
});

describe('RouteTable', () => {
  it('precomputes the header values at insert', () => {
    const t = newTable(fakeFetcher().fetcher);
    t.putToken(H1, token({ auth: { name: 'Zoë', n: 1 } }));
    t.putToken(H2, token({ static: true, auth: null, secret_token: '', user: null }));
    t.putToken(H3, token({ user: 'bad\nname' }));
    expect(t.route(H1)!.userDataHeader).toBe('{"name":"Zo\\u00eb","n":1}');
    expect(JSON.parse(t.route(H1)!.userDataHeader)).toEqual({ name: 'Zoë', n: 1 });
    expect(t.route(H2)).toMatchObject({ userDataHeader: 'null', secret: '', user: null, static: true });
    expect(t.route(H3)!.user).toBe('bad%0Aname');
  });

  it('keeps Route objects only for tokens in use; open connections keep theirs reachable for revocation', () => {
    const t = newTable(fakeFetcher().fetcher);
    t.putToken(H1, token());
    t.putToken(H2, token());
    const idle = t.route(H1)!;
    const busy = t.route(H2)!;
    const conn = { destroy: vi.fn() };
    t.track(busy, conn);
    expect(t.route(H1)).toBe(idle); // same object while used
    t.sweep(Date.now());
    t.sweep(Date.now());
    expect(t.route(H1)).not.toBe(idle); // made again from the store
    expect(t.route(H1)).toMatchObject({ backendId: 'b1', secret: 'sek' });
    expect(t.size).toBe(2);
    t.deleteToken(H2);
    expect(busy.revoked).toBe(true);
    expect(conn.destroy).toHaveBeenCalled();
    expect(t.route(H2)).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('ignores tokens and backends of other clusters', async () => {
    const { fetcher, tokens } = fakeFetcher();
    const t = newTable(fetcher);
    t.putToken(H1, token({ cluster: 'other:1' }));
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:1' }, { cluster: 'other:1' }), 1);
    expect(t.route(H1)).toBeUndefined();
    expect(t.backend('b1')).toBeUndefined();
    tokens.set(HASH, token({ cluster: 'other:1' }));
    expect(await t.fetchRoute(HASH)).toBeNull();
  });

  it('reads KV once for concurrent misses and keeps the result', async () => {
    const { fetcher, calls, tokens } = fakeFetcher();
    tokens.set(HASH, token());
    const t = newTable(fetcher);
    const [a, b, c] = await Promise.all([t.fetchRoute(HASH), t.fetchRoute(HASH), t.fetchRoute(HASH)]);
    expect(calls.token).toBe(1);
    expect(a).not.toBeNull();
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(t.route(HASH)).toBe(a);
  });

  it('waits a moment for the watch when KV says no, then remembers the miss', async () => {
    const { fetcher, calls } = fakeFetcher();
    const t = newTable(fetcher, { missGraceMs: 200 });
    const pending = t.fetchRoute(HASH);
    setTimeout(() => t.putToken(HASH, token()), 30); // the watch delivers during the grace period
    expect(await pending).toMatchObject({ backendId: 'b1' });

    const other = hashToken('U'.repeat(43));
    const t2 = newTable(fetcher, { missGraceMs: 10 });
    expect(await t2.fetchRoute(other)).toBeNull();
    const before = calls.token;
    expect(await t2.fetchRoute(other)).toBeNull();
    expect(calls.token).toBe(before); // negative answer cached
    t2.putToken(other, token()); // a later put clears it
    expect(t2.route(other)).toBeDefined();
  });

  it('revocation drops the route, destroys its open connections, and a late KV read cannot revive it', async () => {
    const { fetcher, tokens } = fakeFetcher();
    tokens.set(HASH, token());
    const t = newTable(fetcher);
    t.putToken(HASH, token());
    const route = t.route(HASH)!;
    const conn = { destroy: vi.fn() };
    t.track(route, conn);
    t.deleteToken(HASH);
    expect(t.route(HASH)).toBeUndefined();
    expect(route.revoked).toBe(true);
    expect(conn.destroy).toHaveBeenCalledOnce();
    expect(await t.fetchRoute(HASH)).toBeNull(); // stale KV copy ignored
  });

  it('applies backend updates in revision order and keeps the address while terminating', () => {
    const gone = vi.fn();
    const t = newTable(fakeFetcher().fetcher, { onBackendGone: gone });
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4000' }), 5);
    t.putBackend(backend({ status: 'waiting', address: '127.0.0.1:4000' }), 4); // older: ignored
    expect(t.backend('b1')).toMatchObject({ status: 'ready', host: '127.0.0.1', port: 4000, origin: 'http://127.0.0.1:4000' });
    t.putBackend(backend({ status: 'terminating' }), 6);
    expect(t.backend('b1')).toMatchObject({ status: 'terminating', origin: 'http://127.0.0.1:4000' });
    t.putBackend(backend({ status: 'terminated' }), 7);
    expect(gone).toHaveBeenCalledOnce();
  });

  it('waitForReady: resolves on ready, 410 on terminated, 503 on timeout', async () => {
    const t = newTable(fakeFetcher().fetcher);
    t.putBackend(backend({ status: 'starting' }), 1);
    const entry = t.backend('b1')!;
    const ready = t.waitForReady(entry, 1_000);
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4000' }), 2);
    await expect(ready).resolves.toBeUndefined();

    t.putBackend(backend({ status: 'waiting' }, { id: 'b2' }), 1);
    const ended = t.waitForReady(t.backend('b2')!, 1_000);
    t.putBackend(backend({ status: 'terminated' }, { id: 'b2' }), 2);
    await expect(ended).rejects.toEqual(new RouteUnavailable(410));

    t.putBackend(backend({ status: 'loading' }, { id: 'b3' }), 1);
    await expect(t.waitForReady(t.backend('b3')!, 20)).rejects.toMatchObject({ status: 503 });
    expect(t.backend('b3')!.waiters).toEqual([]);
  });

  it('counts activity and drains it', () => {
    const t = newTable(fakeFetcher().fetcher);
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4000' }), 1);
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4001' }, { id: 'b2' }), 1);
    t.backend('b1')!.requests += 3;
    t.backend('b2')!.openConnections = 1;
    expect(t.drainActivity().sort()).toEqual(['b1', 'b2']);
    t.backend('b2')!.openConnections = 0;
    expect(t.drainActivity()).toEqual([]);
  });

  it('a deleted backend record answers 410 from a tombstone, without a KV read', async () => {
    const { fetcher, calls } = fakeFetcher();
    const t = newTable(fetcher);
    t.putToken(HASH, token());
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4000' }), 1);
    t.deleteBackend('b1');
    expect(await resolveRoute(t, TOKEN, 1_000)).toBe(410);
    expect(calls.backend).toBe(0);
  });

  it('forgets terminated backends after the tombstone period', () => {
    const t = newTable(fakeFetcher().fetcher);
    t.putBackend(backend({ status: 'terminated' }), 1);
    const entry = t.backend('b1')!;
    t.sweep(entry.endedAt + 10 * 60_000);
    expect(t.backend('b1')).toBeUndefined();
    expect(entry.removed).toBe(true);
  });
});

describe('resolveRoute', () => {
  it('answers a hit on a ready backend synchronously', () => {
    const t = newTable(fakeFetcher().fetcher);
    t.putToken(HASH, token());
    t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4000' }), 1);
    const r = resolveRoute(t, TOKEN, 1_000);
    expect(r).toBe(t.route(HASH));
  });

  it('404 for garbage (no KV read) and for unknown tokens', async () => {
    const { fetcher, calls } = fakeFetcher();
    const t = newTable(fetcher);
    expect(resolveRoute(t, 'short', 1_000)).toBe(404);
    expect(calls.token).toBe(0);
    expect(await resolveRoute(t, TOKEN, 1_000)).toBe(404);
  });

  it('410 for a terminated or vanished backend, 503 when KV is unreachable', async () => {
    const { fetcher, backends } = fakeFetcher();
    const t = newTable(fetcher);
    t.putToken(HASH, token());
    expect(await resolveRoute(t, TOKEN, 1_000)).toBe(410); // no backend record anywhere
    backends.set('b1', backend({ status: 'terminated' }));
    const t2 = newTable(fetcher);
    t2.putToken(HASH, token());
    expect(await resolveRoute(t2, TOKEN, 1_000)).toBe(410);
    const broken = newTable({ getToken: () => Promise.reject(new Error('down')), getBackend: () => Promise.reject(new Error('down')) });
    expect(await resolveRoute(broken, TOKEN, 1_000)).toBe(503);
  });

  it('reads a backend the watch has not delivered yet and waits for it to be ready', async () => {
    const { fetcher, backends } = fakeFetcher();
    backends.set('b1', backend({ status: 'starting' }));
    const t = newTable(fetcher);
    t.putToken(HASH, token());
    const pending = resolveRoute(t, TOKEN, 1_000);
    expect(pending).toBeInstanceOf(Promise);
    setTimeout(() => t.putBackend(backend({ status: 'ready', address: '127.0.0.1:4000' }), 2), 20);
    expect(await pending).toBe(t.route(HASH));
  });
});
