/**
 * A dead-man's switch per backend process group. A tiny `sh` (in its own session, so signals aimed at
 * the drone's group or terminal do not reach it) blocks reading a pipe whose only writer is the drone;
 * when the drone's process goes away for any reason, SIGKILL included, the kernel closes that pipe and
 * the watcher SIGKILLs the backend's whole group. So a process backend never outlives its drone, and a
 * key given to another backend after the drone was lost can never have two live holders.
 */
import { spawn } from 'node:child_process';

export interface GroupGuard {
  /** The backend ended: close the pipe (the watcher sweeps anything left in the group, then exits). */
  release(): void;
}

const WATCHER = 'read _; kill -9 -"$1" 2>/dev/null';

/** Start the watcher of process group `pgid`; null when `sh` cannot be started (logged by the caller). */
export function guardGroup(pgid: number, shell = '/bin/sh'): GroupGuard | null {
  try {
    const child = spawn(shell, ['-c', WATCHER, 'jetplane-fence', String(pgid)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => undefined);
    const stdin = child.stdin;
    if (!stdin) return null;
    stdin.on('error', () => undefined);
    // Neither the watcher nor its pipe may keep the drone's event loop alive.
    child.unref();
    (stdin as unknown as { unref?: () => void }).unref?.();
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        stdin.destroy();
      },
    };
  } catch {
    return null;
  }
}
