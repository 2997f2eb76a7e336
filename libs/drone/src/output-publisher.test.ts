import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BackendLogLine, BackendStats } from '@jetplane/protocol';
import { createOutputPublisher, type OutputPublisherOptions } from './output-publisher.js';

afterEach(() => {
  vi.useRealTimers();
});

function setup(overrides: Partial<OutputPublisherOptions> = {}) {
  let now = 1_000;
  const lines: BackendLogLine[] = [];
  const stats: BackendStats[] = [];
  const sink = createOutputPublisher({
    publishLine: (l) => void lines.push(l),
    publishStats: (s) => void stats.push(s),
    flush: async () => undefined,
    flushTimeoutMs: 50,
    statsIntervalMs: 1_000,
    maxLinesPerSecond: 3,
    now: () => now,
    ...overrides,
  });
  return { sink, lines, stats, tick: (ms: number) => (now += ms) };
}

describe('output publisher', () => {
  it('publishes each line with backend, stream and time', () => {
    const { sink, lines } = setup();
    sink.line('b1', 'stdout', 'hello');
    sink.line('b1', 'stderr', 'oops');
    expect(lines).toEqual([
      { backend_id: 'b1', stream: 'stdout', line: 'hello', time: 1_000 },
      { backend_id: 'b1', stream: 'stderr', line: 'oops', time: 1_000 },
    ]);
    sink.close();
  });

  it('drops lines over the per-second budget and says how many, per backend', () => {
    const { sink, lines, tick } = setup();
    for (let i = 0; i < 5; i++) sink.line('b1', 'stdout', `l${i}`);
    sink.line('b2', 'stdout', 'other backend');
    expect(lines.map((l) => l.line)).toEqual(['l0', 'l1', 'l2', 'other backend']);
    tick(1_000);
    sink.line('b1', 'stdout', 'next second');
    expect(lines.map((l) => l.line).slice(4)).toEqual(['[jetplane] 2 output lines dropped (more than 3 lines/s)', 'next second']);
    expect(lines[4]?.stream).toBe('stderr');
    sink.close();
  });

  it('reports drops still pending when the backend ends', () => {
    const { sink, lines } = setup();
    for (let i = 0; i < 4; i++) sink.line('b1', 'stdout', `l${i}`);
    sink.ended('b1');
    expect(lines.at(-1)?.line).toBe('[jetplane] 1 output lines dropped (more than 3 lines/s)');
    sink.close();
  });

  it('coalesces stats: the latest sample per backend once per interval, nothing after the end', () => {
    vi.useFakeTimers();
    const { sink, stats } = setup();
    sink.stats('b1', { cpuPercent: 1, memoryBytes: 10, memoryLimitBytes: null, time: 1 });
    sink.stats('b1', { cpuPercent: 2, memoryBytes: 20, memoryLimitBytes: 64, time: 2 });
    sink.stats('b2', { cpuPercent: 3, memoryBytes: 30, memoryLimitBytes: null, time: 2 });
    vi.advanceTimersByTime(1_000);
    expect(stats).toEqual([
      { backend_id: 'b1', cpu_percent: 2, memory_bytes: 20, memory_limit_bytes: 64, time: 2 },
      { backend_id: 'b2', cpu_percent: 3, memory_bytes: 30, memory_limit_bytes: null, time: 2 },
    ]);
    vi.advanceTimersByTime(1_000);
    expect(stats).toHaveLength(2);
    sink.stats('b1', { cpuPercent: 4, memoryBytes: 40, memoryLimitBytes: null, time: 3 });
    sink.ended('b1');
    vi.advanceTimersByTime(1_000);
    expect(stats).toHaveLength(2);
    sink.close();
  });

  it('flush gives up after its timeout instead of hanging', async () => {
    const { sink } = setup({ flush: () => new Promise(() => undefined) });
    const started = Date.now();
    await sink.flush();
    expect(Date.now() - started).toBeLessThan(1_000);
    sink.close();
  });
});
