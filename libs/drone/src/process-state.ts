/**
 * The process executor's record of the backend process groups it runs, in a small JSON file under the
 * drone's state directory, rewritten atomically (temp file + rename) on every start and exit. After a
 * crash (SIGKILL, OOM, power loss of the drone process only), the next start of a drone with the same
 * state directory kills whatever is still running from that list before it records those backends
 * `lost`: a process is only killed when its environment still says `SESSION_BACKEND_ID=<that backend>`
 * (a guard against PID reuse). Normally the group watchers (`process-guard.ts`) have done it already.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@jetplane/observability';

export interface ProcessEntry {
  backend_id: string;
  /** Process group id (= the leader's pid: backends are started as group leaders). */
  pgid: number;
  pid: number;
}

export const STATE_FILE = 'processes.json';

export class ProcessStateFile {
  private readonly entries = new Map<string, ProcessEntry>();
  readonly path: string;

  constructor(
    readonly dir: string,
    private readonly log?: Logger,
  ) {
    this.path = join(dir, STATE_FILE);
  }

  started(backendId: string, pid: number): void {
    this.entries.set(backendId, { backend_id: backendId, pgid: pid, pid });
    this.write();
  }

  ended(backendId: string): void {
    if (this.entries.delete(backendId)) this.write();
  }

  /** Entries a previous run left in the file (empty when there is none or it is unreadable). */
  read(): ProcessEntry[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    try {
      const parsed = JSON.parse(text) as { processes?: unknown };
      if (!Array.isArray(parsed.processes)) return [];
      return parsed.processes.filter(
        (p): p is ProcessEntry =>
          typeof p === 'object' && p !== null && typeof (p as ProcessEntry).backend_id === 'string' && Number.isInteger((p as ProcessEntry).pgid) && (p as ProcessEntry).pgid > 1,
      );
    } catch {
      this.log?.warn({ path: this.path }, 'ignoring an unreadable process state file');
      return [];
    }
  }

  /** Write the current entries (synchronously: the file must be right even if we crash next). */
  write(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ processes: [...this.entries.values()] }), { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      this.log?.warn({ err, path: this.path }, 'could not write the process state file');
    }
  }
}

/** Pids of processes in group `pgid` whose environment holds `SESSION_BACKEND_ID=<backendId>`. */
export function verifiedGroupMembers(pgid: number, backendId: string, procDir = '/proc'): number[] {
  const marker = `SESSION_BACKEND_ID=${backendId}`;
  const members: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync(procDir).filter((d) => /^\d+$/.test(d));
  } catch {
    return members;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(join(procDir, pid, 'stat'), 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) !== pgid) continue;
      if (readFileSync(join(procDir, pid, 'environ'), 'utf8').split('\0').includes(marker)) members.push(Number(pid));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return members;
}

/**
 * Kill what an earlier run left running (only verified processes), then empty the file. Returns the
 * backend ids whose processes were found and killed.
 */
export function reapLeftoverProcesses(state: ProcessStateFile, log: Logger, kill: (pid: number, signal: NodeJS.Signals) => void = process.kill): string[] {
  const killed: string[] = [];
  for (const entry of state.read()) {
    const members = verifiedGroupMembers(entry.pgid, entry.backend_id);
    if (members.length === 0) continue;
    log.warn({ backend_id: entry.backend_id, pgid: entry.pgid, processes: members.length }, 'killing a backend left running by an earlier run of this drone');
    try {
      kill(-entry.pgid, 'SIGKILL');
    } catch {
      for (const pid of members) {
        try {
          kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    killed.push(entry.backend_id);
  }
  state.write();
  return killed;
}
