import { describe, expect, it } from 'vitest';
import type { KV, KvWatchOptions } from '@nats-io/kv';
import { watchBucket } from './kv-view.js';

interface FakeEntry {
  key: string;
  revision: number;
  operation: 'PUT' | 'DEL';
  delta: number;
  isUpdate: boolean;
  value: Uint8Array;
}

/** A watch iterator we feed by hand; its consumer probe answers `healthy`. */
class FakeWatch implements AsyncIterable<FakeEntry> {
  private queue: FakeEntry[] = [];
  private wake: (() => void) | null = null;
  stopped = false;
  healthy = true;
  readonly _data = { info: async () => (this.healthy ? {} : Promise.reject(new Error('timeout'))) };
  push(e: FakeEntry): void {
    this.queue.push(e);
    this.wake?.();
  }
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<FakeEntry> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.stopped) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

const entry = (revision: number, isUpdate = true, delta = 0): FakeEntry => ({ key: `k${revision}`, revision, operation: 'PUT', delta, isUpdate, value: new Uint8Array() });
const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('watchBucket', () => {
  it('re-opens a watch whose consumer cannot be reached, from the revision after the last delivered; no repeats', async () => {
    const watches: Array<{ w: FakeWatch; opts: KvWatchOptions }> = [];
    const kv = {
      status: async () => ({ values: 1 }),
      watch: async (opts: KvWatchOptions) => {
        const w = new FakeWatch();
        watches.push({ w, opts });
        return w;
      },
    } as unknown as KV;
    const seen: number[] = [];
    const reopened: Array<[string, number]> = [];
    const watch = await watchBucket(kv, { onPut: (_k, e) => seen.push(e.revision), onDelete: () => undefined }, '>', {
      probeIntervalMs: 20,
      onReopen: (why, from) => reopened.push([why, from]),
    });
    watches[0]!.w.push(entry(1, false, 0));
    await watch.caughtUp;
    watches[0]!.w.push(entry(2));
    await until(() => seen.length === 2);
    watches[0]!.w.healthy = false; // its server died
    await until(() => watches.length === 2);
    expect(watches[0]!.w.stopped).toBe(true);
    expect(watches[1]!.opts).toEqual({ key: '>', resumeFromRevision: 3 });
    expect(reopened).toEqual([['the watch consumer cannot be reached', 3]]);
    watches[1]!.w.push(entry(2)); // overlap: already delivered
    watches[1]!.w.push(entry(3));
    await until(() => seen.length === 3);
    expect(seen).toEqual([1, 2, 3]);
    watch.stop();
  });

  it('re-opens a watch that ends by itself', async () => {
    const watches: FakeWatch[] = [];
    const kv = {
      status: async () => ({ values: 0 }),
      watch: async () => {
        const w = new FakeWatch();
        watches.push(w);
        return w;
      },
    } as unknown as KV;
    const watch = await watchBucket(kv, { onPut: () => undefined, onDelete: () => undefined }, '>', { probeIntervalMs: 0 });
    watches[0]!.stop();
    await until(() => watches.length === 2);
    watch.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(watches).toHaveLength(2);
  });
});
