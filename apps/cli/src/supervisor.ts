/** Child processes of `jetplane dev`: log forwarding, readiness, ordered graceful stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';

export type LineSink = (child: string, line: string, stream: 'stdout' | 'stderr') => void;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  sink: LineSink;
}

/** The `url` of a pino `"msg":"ready"` line, `''` for a ready line without one, undefined otherwise. */
export function readyUrl(line: string): string | undefined {
  if (!line.startsWith('{') || !line.includes('"ready"')) return undefined;
  try {
    const v = JSON.parse(line) as { msg?: unknown; url?: unknown };
    if (v.msg !== 'ready') return undefined;
    return typeof v.url === 'string' ? v.url : '';
  } catch {
    return undefined;
  }
}

export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private readyWaiters: Array<(url: string) => void> = [];
  private readyUrl: string | undefined;

  constructor(opts: ChildOptions) {
    this.name = opts.name;
    // Own process group: a terminal's Ctrl-C reaches only `jetplane dev`, which stops children in order.
    this.proc = spawn(opts.command, opts.args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.proc.once('error', (err) => {
        opts.sink(this.name, `failed to start: ${err.message}`, 'stderr');
        this.exitInfo ??= { code: 127, signal: null };
        resolve(this.exitInfo);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const input = this.proc[stream];
      if (!input) continue;
      createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
        const url = readyUrl(line);
        if (url !== undefined && this.readyUrl === undefined) {
          this.readyUrl = url;
          for (const w of this.readyWaiters.splice(0)) w(url);
        }
        opts.sink(this.name, line, stream);
      });
    }
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.proc.pid !== undefined;
  }

  /** Resolves with the `url` of its `"msg":"ready"` line; rejects if it exits first or `timeoutMs` passes. */
  waitReady(timeoutMs: number): Promise<string> {
    if (this.readyUrl !== undefined) return Promise.resolve(this.readyUrl);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not log "ready" within ${timeoutMs / 1000} s`)), timeoutMs);
      this.readyWaiters.push((url) => {
        clearTimeout(timer);
        resolve(url);
      });
      void this.exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before it was ready (${describeExit(info)})`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  /** Signal the child by its pid (never by name). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running || this.proc.pid === undefined) return;
    try {
      process.kill(this.proc.pid, sig);
    } catch {
      // already gone
    }
  }
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}

/**
 * Resolves once a NATS server on 127.0.0.1:`port` greets with an INFO line announcing JetStream;
 * rejects after `timeoutMs` or when `abort` resolves first.
 */
export async function waitForNats(port: number, timeoutMs: number, abort: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let aborted = false;
  void abort.then(() => (aborted = true));
  while (!aborted) {
    if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let data = '';
      const done = (v: boolean): void => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(1000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString();
        if (data.includes('\n')) done(data.startsWith('INFO ') && data.includes('"jetstream":true'));
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nats-server exited before it accepted connections');
}
