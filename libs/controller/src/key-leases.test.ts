import { describe, expect, it } from 'vitest';
import type { KeyRecord } from '@jetplane/protocol';
import { keyId } from '@jetplane/nats';
import { KeyLeaseView } from './key-leases.js';

const rec = (backend_id: string, name = 'k'): KeyRecord => ({ namespace: 'ns', name, tag: '', backend_id, acquired_at: 0 });

describe('KeyLeaseView', () => {
  it('dates each write by when this controller saw it; expired after keyExpirationMs without a write', () => {
    let now = 0;
    const view = new KeyLeaseView(60_000, () => now);
    view.put(keyId('ns', 'k'), 5, rec('b1'));
    now = 60_000;
    expect(view.isExpired('ns', 'k', 5)).toBe(false);
    now = 60_001;
    expect(view.isExpired('ns', 'k', 5)).toBe(true);
    expect(view.expired().map((s) => s.backendId)).toEqual(['b1']);
    // A renewal (new revision) seen now restarts the count.
    view.put(keyId('ns', 'k'), 9, rec('b1'));
    expect(view.isExpired('ns', 'k', 9)).toBe(false);
    expect(view.expiresIn('ns', 'k')).toBe(60_000);
  });

  it('only the revision it saw can be expired: a caller holding another revision is told no', () => {
    let now = 0;
    const view = new KeyLeaseView(1_000, () => now);
    view.put(keyId('ns', 'k'), 5, rec('b1'));
    now = 5_000;
    expect(view.isExpired('ns', 'k', 6)).toBe(false);
    expect(view.isExpired('ns', 'unknown', 1)).toBe(false);
  });

  it('ignores a replayed older revision and forgets deleted keys', () => {
    let now = 0;
    const view = new KeyLeaseView(1_000, () => now);
    view.put(keyId('ns', 'k'), 9, rec('b1'));
    now = 500;
    view.put(keyId('ns', 'k'), 5, rec('b1'));
    expect(view.get('ns', 'k')).toMatchObject({ revision: 9, seenAt: 0 });
    view.remove(keyId('ns', 'k'));
    expect(view.size).toBe(0);
  });
});
