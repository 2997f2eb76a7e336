/** Runs a backend as a local process in its own process group (`{command, cwd?, env?}` executables). */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Executor, ExecutorHooks, ExitInfo, BackendSpec, RunningBackend, StartResult } from '../executor.js';
import { backendEnv, inheritedEnv } from './env.js';
import { forEachLine } from './lines.js';
import { DEFAULT_BACKEND_PORTS, PortPool } from './port-pool.js';
import { signalGroup, trackGroup, untrackGroup } from './process-groups.js';
import { guardGroup, type GroupGuard } from './process-guard.js';

export interface ProcessExecutorOptions {
  /** Address the backend is reached on (its port is picked on loopback). */
  host: string;
  /** Base environment; defaults to a minimal subset of the drone's own. */
  inherited?: Record<string, string>;
  /**
   * Give each backend group a watcher that SIGKILLs it when the drone's process dies, even by SIGKILL
   * (see `process-guard.ts`). Default true.
   */
  guard?: boolean;
  /** Told about every group started and ended (the drone's state file, for cleanup after a crash). */
  ledger?: { started(backendId: string, pid: number): void; ended(backendId: string): void };
  /** Where backend ports come from (default: `DEFAULT_BACKEND_PORTS` on `host`). */
  ports?: PortPool;
}

const failed = (message: string): StartResult => ({ ok: false, error: { kind: 'failed', message } });
const aborted: StartResult = { ok: false, error: { kind: 'aborted' } };

export class ProcessExecutor implements Executor {
  readonly kind = 'process' as const;
  private readonly inherited: Record<string, string>;
  private readonly ports: PortPool;

  constructor(private readonly opts: ProcessExecutorOptions) {
    this.inherited = opts.inherited ?? inheritedEnv(process.env);
    this.ports = opts.ports ?? new PortPool({ range: DEFAULT_BACKEND_PORTS, host: opts.host });
  }

  async start(spec: BackendSpec, hooks: ExecutorHooks): Promise<StartResult> {
    const exe = spec.executable;
    if (!('command' in exe) || exe.command.length === 0 || !exe.command[0]) {
      return failed('not a process executable (expected {"command": [...]})');
    }
    if (spec.signal.aborted) return aborted;
    hooks.onPhase('starting');

    // Node reports a missing cwd as ENOENT of the program, which would point at the wrong culprit.
    if (exe.cwd !== undefined && !(await isDirectory(exe.cwd))) return failed(`working directory not found: ${exe.cwd}`);
    let port: number;
    try {
      port = spec.port ?? (await this.ports.take());
    } catch (err) {
      return failed(`no free port: ${errorMessage(err)}`);
    }
    // Back to the pool once the backend is gone, or at once if it never starts; only once, since the
    // port may be someone else's right after.
    let held = spec.port === undefined;
    const releasePort = (): void => {
      if (held) this.ports.release(port);
      held = false;
    };
    const [program, ...args] = exe.command as [string, ...string[]];
    const env = backendEnv({ inherited: this.inherited, executableEnv: exe.env, sessionEnv: spec.env, port });

    let child: ChildProcess;
    try {
      // Own process group (detached) so a terminate reaches everything the backend started; output is
      // piped, never inherited, so it cannot interleave unmarked with the drone's log.
      child = spawn(program, args, { cwd: exe.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      releasePort();
      return failed(`cannot start ${JSON.stringify(program)}: ${errorMessage(err)}`);
    }
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    void exited.then(releasePort);
    const spawnError = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', resolve);
    });
    if (spawnError) {
      releasePort(); // an 'exit' may or may not follow a failed spawn
      return failed(`cannot start ${JSON.stringify(program)}: ${spawnError.message}`);
    }
    // A later 'error' (a failed kill) must not crash the drone; the exit is what matters.
    child.on('error', () => undefined);

    const pid = child.pid as number;
    trackGroup(pid);
    const { ledger } = this.opts;
    ledger?.started(spec.backendId, pid);
    const guard = this.opts.guard === false ? null : guardGroup(pid);
    void exited.then(() => ledger?.ended(spec.backendId));
    if (child.stdout) forEachLine(child.stdout, (line) => hooks.onOutput('stdout', line));
    if (child.stderr) forEachLine(child.stderr, (line) => hooks.onOutput('stderr', line));
    return { ok: true, backend: runningProcess(pid, `${this.opts.host}:${port}`, exited, guard) };
  }
}

function runningProcess(pid: number, address: string, exitedRaw: Promise<ExitInfo>, guard: GroupGuard | null): RunningBackend {
  let done = false;
  const exited = exitedRaw.then((info) => {
    done = true;
    // The leader is gone; whatever it left behind in its group goes with it.
    signalGroup(pid, 'SIGKILL');
    untrackGroup(pid);
    guard?.release();
    return info;
  });
  return {
    address,
    exited,
    terminate(kind) {
      if (!done) signalGroup(pid, kind === 'hard' ? 'SIGKILL' : 'SIGTERM');
    },
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
