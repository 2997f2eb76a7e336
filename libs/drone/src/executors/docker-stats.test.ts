import { describe, expect, it } from 'vitest';
import { sampleFromDockerStats } from './docker-stats.js';

const cgroupV1 = {
  read: '2024-01-01T00:00:02.000000000Z',
  cpu_stats: { cpu_usage: { total_usage: 3_000_000_000, percpu_usage: [1, 2] }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
  precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 16_000_000_000 },
  memory_stats: { usage: 50_000_000, limit: 64_000_000, stats: { total_inactive_file: 10_000_000 } },
};

describe('sampleFromDockerStats', () => {
  it('computes CPU like `docker stats` and memory without reclaimable cache (cgroup v1)', () => {
    // 1 s of CPU over 4 s of system time on 2 CPUs = 50 % of one core.
    expect(sampleFromDockerStats(cgroupV1, 64 * 1024 * 1024)).toEqual({
      cpuPercent: 50,
      memoryBytes: 40_000_000,
      memoryLimitBytes: 64 * 1024 * 1024,
      time: Date.parse('2024-01-01T00:00:02Z'),
    });
  });

  it('reads cgroup v2 inactive_file', () => {
    const v2 = { ...cgroupV1, memory_stats: { usage: 30, stats: { inactive_file: 10 } } };
    expect(sampleFromDockerStats(v2, null)?.memoryBytes).toBe(20);
  });

  it('skips the first sample of a stream (no previous CPU reading) and a stopped container', () => {
    expect(sampleFromDockerStats({ ...cgroupV1, precpu_stats: { cpu_usage: { total_usage: 0 } } }, null)).toBeUndefined();
    expect(sampleFromDockerStats({ ...cgroupV1, memory_stats: {} }, null)).toBeUndefined();
  });

  it('never reports negative use', () => {
    const odd = { ...cgroupV1, cpu_stats: { ...cgroupV1.cpu_stats, cpu_usage: { total_usage: 1 } }, memory_stats: { usage: 5, stats: { total_inactive_file: 9 } } };
    expect(sampleFromDockerStats(odd, null)).toMatchObject({ cpuPercent: 0, memoryBytes: 5 });
  });
});
