import { describe, expect, it } from 'vitest';
import { ActivityLedger } from './activity.js';

describe('ActivityLedger', () => {
  it('dates activity at receipt, sums open connections over proxies, ignores untracked backends', () => {
    const ledger = new ActivityLedger(() => 0);
    ledger.track('b1');
    ledger.record({ proxy: 'px-a', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 1, requests: 3 }, { backend_id: 'zz', connections: 5, requests: 1 }] }, 100);
    ledger.record({ proxy: 'px-b', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 2, requests: 0 }] }, 200);
    expect(ledger.connections('b1', 300)).toBe(3);
    expect(ledger.lastActiveAt('b1')).toBe(200);
    expect(ledger.connections('zz', 300)).toBe(0);
    expect(ledger.lastActiveAt('zz')).toBeUndefined();
  });

  it('a report with 0 open drops that proxy\'s count; requests alone only date the activity', () => {
    const ledger = new ActivityLedger(() => 0);
    ledger.track('b1');
    ledger.record({ proxy: 'px-a', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 1, requests: 1 }] }, 100);
    ledger.record({ proxy: 'px-a', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 0, requests: 0 }] }, 1_100);
    expect(ledger.connections('b1', 1_200)).toBe(0);
    expect(ledger.lastActiveAt('b1')).toBe(100);
    ledger.record({ proxy: 'px-a', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 0, requests: 2 }] }, 2_100);
    expect(ledger.lastActiveAt('b1')).toBe(2_100);
  });

  it('forgets a proxy\'s count after three of its intervals without a repeat (a dead proxy)', () => {
    const ledger = new ActivityLedger(() => 0);
    ledger.track('b1');
    ledger.record({ proxy: 'px-a', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 1, requests: 0 }] }, 0);
    expect(ledger.connections('b1', 3_000)).toBe(1);
    expect(ledger.connections('b1', 3_001)).toBe(0);
  });

  it('skips malformed reports and entries', () => {
    const ledger = new ActivityLedger(() => 0);
    ledger.track('b1');
    ledger.record({ proxy: 1 } as never, 0);
    ledger.record({ proxy: 'px', interval_ms: 1_000, backends: [null, { backend_id: 'b1', connections: -4, requests: 'x' }] } as never, 0);
    expect(ledger.connections('b1', 1)).toBe(0);
    expect(ledger.lastActiveAt('b1')).toBeUndefined();
    ledger.forget('b1');
    ledger.record({ proxy: 'px', interval_ms: 1_000, backends: [{ backend_id: 'b1', connections: 1, requests: 1 }] }, 0);
    expect(ledger.connections('b1', 1)).toBe(0);
  });
});
