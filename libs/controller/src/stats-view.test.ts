import { describe, expect, it } from 'vitest';
import { createControllerMetrics, registerBackendUsageMetrics } from './metrics.js';
import { backendListing } from './listings.js';
import { StatsView } from './stats-view.js';

const sample = (id: string, time: number, memory = 100) => ({ backend_id: id, cpu_percent: 12.5, memory_bytes: memory, memory_limit_bytes: 1000, time });

describe('StatsView', () => {
  it('keeps the latest sample per backend (by sample time) and forgets stale ones by its own clock', () => {
    const view = new StatsView(1_000);
    view.put(sample('b1', 20, 200), 0);
    view.put(sample('b1', 10, 100), 0); // older sample arriving late
    expect(view.get('b1', 500)).toEqual({ cpu_percent: 12.5, memory_bytes: 200, memory_limit_bytes: 1000, time: 20 });
    expect(view.ids(500)).toEqual(['b1']);
    expect(view.get('b1', 2_000)).toBeUndefined();
    view.prune(2_000);
    expect(view.ids(0)).toEqual([]);
  });

  it('omits a missing memory limit and ignores malformed samples', () => {
    const view = new StatsView();
    view.put({ ...sample('b1', 1), memory_limit_bytes: null });
    view.put({} as never);
    expect(view.get('b1')).toEqual({ cpu_percent: 12.5, memory_bytes: 100, time: 1 });
  });
});

describe('stats in listings and metrics', () => {
  it('adds stats to live listing rows only', async () => {
    const view = new StatsView();
    view.put(sample('b1', 1));
    const record = {
      id: 'b1', cluster: 'c', pool: '', drone: 'dr-1', key: { namespace: '', name: 'k', tag: '' }, executable: { image: 'x' },
      static_token: null, subdomain: null, lifetime_limit_seconds: null, max_idle_seconds: null, fencing_token: 1, created_at: 1,
    };
    expect(backendListing({ ...record, state: { status: 'ready', time: 1 } }, view).stats?.memory_bytes).toBe(100);
    expect(backendListing({ ...record, state: { status: 'terminated', time: 2 } }, view).stats).toBeUndefined();
  });

  it('exposes per-backend gauges computed at scrape time', async () => {
    const metrics = createControllerMetrics();
    let rows = [{ backend_id: 'b1', drone: 'dr-1', cpu_percent: 1.5, memory_bytes: 2048, memory_limit_bytes: null }];
    registerBackendUsageMetrics(metrics, () => rows);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/jetplane_backend_cpu_percent\{backend_id="b1",drone="dr-1"[^}]*\} 1\.5/);
    expect(text).toMatch(/jetplane_backend_memory_bytes\{backend_id="b1",drone="dr-1"[^}]*\} 2048/);
    expect(text).not.toMatch(/jetplane_backend_memory_limit_bytes\{/);
    rows = [];
    expect(await metrics.registry.metrics()).not.toMatch(/backend_id="b1"/);
  });
});
