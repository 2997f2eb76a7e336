/**
 * Child processes for end-to-end tests: spawn, capture output line by line (pino JSON parsed),
 * wait for log lines or exit, stop gracefully, and a registry that kills every process this test
 * process started (by PID, with its descendants) even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { descendants, identityOf, isAlive, signalIdentity, type ProcessIdentity } from './proc-tree.js';

/** Repository root (this file lives in libs/testing/{src,dist}). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The `jetplane` executable. */
export const CLI_PATH = join(REPO_ROOT, 'apps', 'cli', 'bin', 'jetplane.js');

/** One line a child printed. `json` is set when the line is a JSON object (pino). */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  raw: string;
  json: Record<string, unknown> | undefined;
  /** Receipt time, epoch ms. */
  at: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Extra environment, applied over a copy of this process's (minus `JETPLANE_*`, see below). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Mirror the child's output on this process's stderr (also on when `JETPLANE_TEST_LOGS=1`). */
  echo?: boolean;
}

/** Lines kept per process; older ones are dropped (the count of dropped lines is kept). */
const MAX_LINES = 50_000;
/** `JETPLANE_*` variables passed through to children; every other one is removed so a developer's shell cannot change a test. */
const PASSED_JETPLANE_VARS = new Set(['JETPLANE_LOG_LEVEL', 'JETPLANE_NATS_SERVER_BIN']);

type LinePredicate = (line: LogLine) => boolean;

interface LogWaiter {
  predicate: LinePredicate;
  resolve(line: LogLine): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const registry = new Set<ManagedProcess>();

/** A spawned child with captured output. Create with {@link spawnManaged} or {@link startComponent}. */
export class ManagedProcess {
  readonly pid: number;
  readonly lines: LogLine[] = [];
  droppedLines = 0;
  /** Set once the process has exited. */
  exitInfo: ExitInfo | undefined;
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** The URL of the `"msg":"ready"` line, for components started with {@link startComponent}. */
  url: string | undefined;
  private readonly waiters = new Set<LogWaiter>();
  private readonly identity: ProcessIdentity | undefined;
  /** Descendants seen so far, so they can be killed even after this process died and they were re-parented. */
  private readonly knownDescendants = new Map<number, ProcessIdentity>();

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly echo: boolean,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = child.pid;
    this.identity = identityOf(this.pid);
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // Let the output streams finish before failing waiters.
        setImmediate(() => {
          for (const w of [...this.waiters]) {
            this.dropWaiter(w);
            w.reject(new Error(`${this.name} exited (${describeExit(this.exitInfo!)}) before the awaited log line\n${this.output(60)}`));
          }
          resolve({ code, signal });
        });
      });
      child.once('error', (err) => {
        this.push('stderr', `[spawn error] ${err.message}`);
      });
    });
    if (child.stdout) createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (l) => this.push('stdout', l));
    if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (l) => this.push('stderr', l));
    registry.add(this);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  private push(stream: LogLine['stream'], raw: string): void {
    let json: Record<string, unknown> | undefined;
    if (raw.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        // Not JSON: kept raw.
      }
    }
    const line: LogLine = { stream, raw, json, at: Date.now() };
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) {
      this.lines.shift();
      this.droppedLines++;
    }
    if (this.echo) process.stderr.write(`[${this.name}] ${raw}\n`);
    for (const w of [...this.waiters]) {
      let matched = false;
      try {
        matched = w.predicate(line);
      } catch {
        matched = false;
      }
      if (matched) {
        this.dropWaiter(w);
        w.resolve(line);
      }
    }
  }

  private dropWaiter(w: LogWaiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }

  /** Lines seen so far that match. */
  findLogs(predicate: LinePredicate): LogLine[] {
    return this.lines.filter((l) => {
      try {
        return predicate(l);
      } catch {
        return false;
      }
    });
  }

  /**
   * The first line (already printed or still to come) matching `predicate`. Rejects on timeout
   * or when the process exits first, with the captured output in the message.
   */
  waitForLog(predicate: LinePredicate, timeoutMs = 30_000, description = 'log line'): Promise<LogLine> {
    const seen = this.findLogs(predicate)[0];
    if (seen) return Promise.resolve(seen);
    if (!this.running) {
      return Promise.reject(new Error(`${this.name} has exited (${describeExit(this.exitInfo!)}); no ${description}\n${this.output(60)}`));
    }
    return new Promise<LogLine>((resolve, reject) => {
      const waiter: LogWaiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.dropWaiter(waiter);
          reject(new Error(`${this.name}: no ${description} within ${timeoutMs} ms\n${this.output(60)}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** The exit, or a rejection after `timeoutMs`. */
  async waitForExit(timeoutMs = 10_000): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms\n${this.output(40)}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last `n` lines, for error messages. */
  output(n = 100): string {
    return this.lines
      .slice(-n)
      .map((l) => `  ${l.stream === 'stderr' ? '!' : ' '} ${l.raw}`)
      .join('\n');
  }

  /** Live descendants right now (also remembered for cleanup). */
  descendants(): ProcessIdentity[] {
    const list = descendants(this.pid);
    for (const d of list) this.knownDescendants.set(d.pid, d);
    return list;
  }

  /** Send a signal to this process (only while it is the process we started). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.running) return;
    if (this.identity && !isAlive(this.identity)) return;
    this.descendants();
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /**
   * SIGTERM (or `signal`), then SIGKILL if it has not exited after `graceMs`. Descendants that
   * outlive it (e.g. backends of a drone that was SIGKILLed) are SIGKILLed too.
   */
  async stop(graceMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (this.running) this.descendants();
    if (this.running) {
      this.kill(signal);
      try {
        await this.waitForExit(graceMs);
      } catch {
        this.descendants();
        this.kill('SIGKILL');
        await this.waitForExit(5_000).catch(() => undefined);
      }
    }
    this.killLeftovers();
    return this.exitInfo ?? { code: null, signal: null };
  }

  /** SIGKILL every remembered descendant that is still the same process. Synchronous. */
  killLeftovers(): void {
    for (const d of this.knownDescendants.values()) signalIdentity(d, 'SIGKILL');
  }
}

export function describeExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${String(e.code)}`;
}

function childEnv(extra: SpawnOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('JETPLANE_') && !PASSED_JETPLANE_VARS.has(k)) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawn `command args` with piped output, registered for cleanup. */
export function spawnManaged(name: string, command: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
  installExitHook();
  const child = spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new Error(`could not spawn ${command}: ${child.exitCode ?? 'no pid'}`);
  }
  return new ManagedProcess(name, child, opts.echo ?? process.env.JETPLANE_TEST_LOGS === '1');
}

/** `node apps/cli/bin/jetplane.js ...args`. */
export function spawnCli(name: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
  return spawnManaged(name, process.execPath, [CLI_PATH, ...args], opts);
}

export type ComponentKind = 'controller' | 'drone' | 'proxy';

/** A pino `"msg":"ready"` line. */
export function isReadyLine(line: LogLine): boolean {
  return line.json?.msg === 'ready';
}

/**
 * Start `jetplane <kind> ...args` and resolve once it logs `"msg":"ready"` (its `url` is stored on
 * the returned process). Rejects with the captured output if it exits or times out first; the
 * process is stopped in that case.
 */
export async function startComponent(
  kind: ComponentKind,
  args: string[],
  env?: Record<string, string | undefined>,
  opts: { name?: string; timeoutMs?: number; echo?: boolean } = {},
): Promise<ManagedProcess> {
  const proc = spawnCli(opts.name ?? kind, [kind, ...args], { env: env ?? {}, ...(opts.echo === undefined ? {} : { echo: opts.echo }) });
  try {
    const ready = await proc.waitForLog(isReadyLine, opts.timeoutMs ?? 30_000, `"msg":"ready" line of ${kind}`);
    proc.url = typeof ready.json?.url === 'string' ? ready.json.url : undefined;
    return proc;
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
}

export interface CliResult extends ExitInfo {
  stdout: string;
  stderr: string;
}

/** Run `jetplane ...args` to completion (bounded by `timeoutMs`, then SIGKILL). */
export async function runCli(args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const proc = spawnCli(`jetplane ${args.join(' ')}`, args, opts);
  let exit: ExitInfo;
  try {
    exit = await proc.waitForExit(opts.timeoutMs ?? 20_000);
  } catch (err) {
    await proc.stop(0, 'SIGKILL');
    throw err;
  }
  const text = (s: LogLine['stream']): string =>
    proc.lines
      .filter((l) => l.stream === s)
      .map((l) => l.raw)
      .join('\n');
  return { ...exit, stdout: text('stdout'), stderr: text('stderr') };
}

/** Every process started by this test process that is still running. */
export function runningProcesses(): ManagedProcess[] {
  return [...registry].filter((p) => p.running);
}

/** Stop every registered process (SIGTERM, SIGKILL after `graceMs`) and their leftovers. Use in `afterAll`. */
export async function stopAllProcesses(graceMs = 5_000): Promise<void> {
  const all = [...registry];
  await Promise.all(all.map((p) => p.stop(graceMs)));
  for (const p of all) registry.delete(p);
}

let exitHookInstalled = false;

/** Last resort: when this (test) process exits, SIGKILL whatever is left, by PID. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of registry) {
      if (p.running) {
        p.descendants();
        p.kill('SIGKILL');
      }
      p.killLeftovers();
    }
  });
}
