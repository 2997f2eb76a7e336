import { describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import type { KeyRecord } from '@jetplane/protocol';
import { KeyStore } from './keys.js';
import { decodeJson, encodeJson } from './codec.js';

/** Just enough of a KV bucket: one revision sequence, revision-checked update, optional stale reads. */
function fakeKv() {
  let seq = 0;
  const data = new Map<string, { value: Uint8Array; revision: number }>();
  let staleReads = 0;
  let stale: { value: Uint8Array; revision: number } | null = null;
  const kv = {
    async create(key: string, value: Uint8Array) {
      if (data.has(key)) throw new Error('wrong last sequence: 1');
      data.set(key, { value, revision: ++seq });
      return seq;
    },
    async get(key: string) {
      if (staleReads > 0) {
        staleReads--;
        return stale ? { ...stale, key, operation: 'PUT' } : null;
      }
      const found = data.get(key);
      return found ? { ...found, key, operation: 'PUT' } : null;
    },
    async update(key: string, value: Uint8Array, revision: number) {
      const found = data.get(key);
      if (!found || found.revision !== revision) throw new Error('wrong last sequence: 9');
      data.set(key, { value, revision: ++seq });
      return seq;
    },
    async delete(key: string) {
      data.delete(key);
    },
  };
  return {
    kv: kv as unknown as KV,
    staleFor(n: number, value: { value: Uint8Array; revision: number } | null) {
      staleReads = n;
      stale = value;
    },
    raw: data,
  };
}

const rec = (backend_id: string): KeyRecord => ({ namespace: 'ns', name: 'k', tag: '', backend_id, acquired_at: 1 });

describe('KeyStore.renew', () => {
  it('rewrites the record at its revision (keeping the creation revision, the fencing token, elsewhere) and stamps renewed_at', async () => {
    const f = fakeKv();
    const keys = new KeyStore(f.kv);
    const fencing = await keys.acquire(rec('b1'));
    const renewed = await keys.renew('ns', 'k', 'b1');
    expect(renewed).toEqual({ ok: true, revision: fencing! + 1 });
    const stored = decodeJson<KeyRecord>([...f.raw.values()][0]!.value);
    expect(stored).toMatchObject({ backend_id: 'b1', acquired_at: 1 });
    expect(typeof stored.renewed_at).toBe('number');
  });

  it('gone / taken verdicts', async () => {
    const f = fakeKv();
    const keys = new KeyStore(f.kv);
    expect(await keys.renew('ns', 'k', 'b1')).toEqual({ ok: false, reason: 'gone' });
    await keys.acquire(rec('b2'));
    expect(await keys.renew('ns', 'k', 'b1')).toEqual({ ok: false, reason: 'taken' });
  });

  it('a lagging replica answering "not there" once or twice is not a verdict', async () => {
    const f = fakeKv();
    const keys = new KeyStore(f.kv);
    await keys.acquire(rec('b1'));
    f.staleFor(2, null);
    expect(await keys.renew('ns', 'k', 'b1')).toMatchObject({ ok: true });
  });

  it('a stale revision read leads to a conflict, then a fresh read succeeds', async () => {
    const f = fakeKv();
    const keys = new KeyStore(f.kv);
    await keys.acquire(rec('b1'));
    const old = { ...[...f.raw.values()][0]! };
    await keys.renew('ns', 'k', 'b1');
    f.staleFor(1, old);
    expect(await keys.renew('ns', 'k', 'b1')).toMatchObject({ ok: true });
  });

  it('endless conflicts are an error (retried by the caller), never a verdict', async () => {
    const f = fakeKv();
    const keys = new KeyStore(f.kv);
    await keys.acquire(rec('b1'));
    const old = { value: encodeJson(rec('b1')), revision: 0 };
    f.staleFor(100, old);
    await expect(keys.renew('ns', 'k', 'b1')).rejects.toThrow(/kept conflicting/);
  });
});
