/** Turning Docker's stats JSON into a CPU/memory sample, the way `docker stats` computes it. */
import type { ResourceSample } from '../executor.js';

/** The fields of a Docker stats object we read (cgroup v1 and v2 shapes). */
export interface DockerStatsJson {
  read?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: { total_inactive_file?: number; inactive_file?: number };
  };
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/**
 * The sample, or undefined when it cannot be computed yet: the first object of a stats stream has no
 * previous CPU reading (Plane skips it too), and a stopped container reports no memory.
 * `memoryLimit`: the limit the backend was given, if any (Docker reports the host's memory otherwise).
 */
export function sampleFromDockerStats(json: DockerStatsJson, memoryLimit: number | null, now = Date.now()): ResourceSample | undefined {
  const cpu = json.cpu_stats;
  const pre = json.precpu_stats;
  const mem = json.memory_stats;
  if (!cpu?.cpu_usage || !pre?.cpu_usage || pre.system_cpu_usage === undefined || !pre.system_cpu_usage) return undefined;
  if (!mem || mem.usage === undefined) return undefined;
  const cpuDelta = (cpu.cpu_usage.total_usage ?? 0) - (pre.cpu_usage.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - pre.system_cpu_usage;
  const cpus = cpu.online_cpus || cpu.cpu_usage.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  // Page cache the kernel can drop is not "used" (cgroup v1: total_inactive_file, v2: inactive_file).
  const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
  const used = inactive < mem.usage ? mem.usage - inactive : mem.usage;
  const time = json.read ? Date.parse(json.read) : NaN;
  return {
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    memoryBytes: used,
    memoryLimitBytes: memoryLimit,
    time: Number.isFinite(time) && time > 0 ? time : now,
  };
}
