import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch.js';

describe('TurnBatch', () => {
  it('starts the tasks queued in one turn together, after the current stack', async () => {
    const batch = new TurnBatch();
    const started: number[] = [];
    const a = batch.run(async () => {
      started.push(1);
      return 'a';
    });
    const b = batch.run(async () => {
      // Both were queued before either started, and both start in the same callback.
      started.push(2);
      expect(started).toEqual([1, 2]);
      return 'b';
    });
    expect(started).toEqual([]);
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
  });

  it('passes on rejections and synchronous throws', async () => {
    const batch = new TurnBatch();
    await expect(batch.run(() => Promise.reject(new Error('rejected')))).rejects.toThrow('rejected');
    await expect(
      batch.run(() => {
        throw new Error('thrown');
      }),
    ).rejects.toThrow('thrown');
  });
});
