import { describe, expect, it } from 'vitest';
import { hashToken } from '@jetplane/nats';
import { RouteStore, type StoredRoute } from './route-store.js';

const h = (i: number): string => hashToken(`token-${i}`);
const route = (i: number, over: Partial<StoredRoute> = {}): StoredRoute => ({
  backendId: `b${i % 7}`,
  user: i % 3 === 0 ? null : `user-${i}`,
  userDataHeader: `{"n":${i},"x":"\u00e9"}`,
  secret: `secret-${i}`,
  static: i % 5 === 0,
  ...over,
});

describe('RouteStore', () => {
  it('gives back what was stored, latin1 included', () => {
    const s = new RouteStore();
    s.set(h(1), route(1));
    s.set(h(3), route(3));
    expect(s.get(h(1))).toEqual(route(1));
    expect(s.get(h(3))).toEqual(route(3));
    expect(s.get(h(2))).toBeUndefined();
    expect(s.size).toBe(2);
  });

  it('replaces, deletes, and survives growth, rehashing and compaction', () => {
    const s = new RouteStore();
    const n = 5_000;
    for (let i = 0; i < n; i++) s.set(h(i), route(i));
    for (let i = 0; i < n; i += 2) s.set(h(i), route(i, { secret: `again-${i}`, backendId: 'moved' }));
    for (let i = 0; i < n; i += 3) expect(s.delete(h(i))).toBe(true);
    for (let i = n; i < n + 2_000; i++) s.set(h(i), route(i));
    for (let i = 0; i < n + 2_000; i++) {
      const want = i % 3 === 0 && i < n ? undefined : i < n && i % 2 === 0 ? route(i, { secret: `again-${i}`, backendId: 'moved' }) : route(i);
      expect(s.get(h(i))).toEqual(want);
    }
    expect(s.size).toBe(n - Math.ceil(n / 3) + 2_000);
    expect(s.delete(h(0))).toBe(false);
  });

  it('only takes token hashes as keys, and never finds anything else', () => {
    const s = new RouteStore();
    expect(() => s.set('h1', route(1))).toThrow();
    expect(() => s.set(h(1).slice(0, -1) + '_', route(1))).toThrow(); // non-canonical last char
    expect(s.get('')).toBeUndefined();
    expect(s.get('x'.repeat(43))).toBeUndefined();
  });
});
