/** Linux /proc helpers: which processes descend from one we started, and whether a PID is still that process. */
import { readdirSync, readFileSync } from 'node:fs';

/** A process identity that survives PID reuse: the PID plus its start time in clock ticks. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

interface StatEntry {
  pid: number;
  ppid: number;
  startTime: string;
  state: string;
}

function readStat(pid: number): StatEntry | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    // fields[0] = state (field 3), fields[1] = ppid (field 4), fields[19] = starttime (field 22).
    return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function allStats(): StatEntry[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: StatEntry[] = [];
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** Every live descendant (children, grandchildren, ...) of `pid`, found by walking /proc. Empty off Linux. */
export function descendants(pid: number): ProcessIdentity[] {
  const stats = allStats();
  const byParent = new Map<number, StatEntry[]>();
  for (const s of stats) {
    const list = byParent.get(s.ppid) ?? [];
    list.push(s);
    byParent.set(s.ppid, list);
  }
  const out: ProcessIdentity[] = [];
  const queue = [pid];
  // Bounded: a process tree cannot be larger than the process table we read.
  for (let i = 0; i < queue.length && i <= stats.length; i++) {
    for (const child of byParent.get(queue[i]!) ?? []) {
      if (child.state === 'Z') continue;
      out.push({ pid: child.pid, startTime: child.startTime });
      queue.push(child.pid);
    }
  }
  return out;
}

export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = readStat(pid);
  return stat ? { pid, startTime: stat.startTime } : undefined;
}

/** Whether the process is still running (not a zombie) and is the same process (same start time). */
export function isAlive(id: ProcessIdentity): boolean {
  const stat = readStat(id.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === id.startTime;
}

/** Send `signal` to the process if it is still the one we recorded; never throws. */
export function signalIdentity(id: ProcessIdentity, signal: NodeJS.Signals): void {
  if (!isAlive(id)) return;
  try {
    process.kill(id.pid, signal);
  } catch {
    // Already gone.
  }
}
