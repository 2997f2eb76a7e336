/** Exit codes, usage errors, `JETPLANE_*` environment defaults and output helpers shared by the commands. */
import { Command, InvalidArgumentError } from 'commander';
import { JetPlaneClientError } from '@jetplane/client';

export const ExitCode = { ok: 0, error: 1, usage: 2 } as const;

/** A wrong or missing argument noticed by a command itself (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export { envNameFor, flag, JetPlaneCommand, optionsWithoutEnv } from '@jetplane/command';

/** Make commander throw instead of exiting, everywhere (commands added with `addCommand` included). */
export function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands as readonly Command[]) applyExitOverride(sub);
}

export function parsePositiveInt(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('expected a positive integer.');
  }
  return Number(value);
}

export function parsePort(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 65535) {
    throw new InvalidArgumentError('expected a port number (1-65535).');
  }
  return Number(value);
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The one-line message for an error, and its exit code. */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError) return { message: err.message, code: ExitCode.usage };
  if (err instanceof JetPlaneClientError) {
    return { message: err.body ? err.describe() : err.message, code: ExitCode.error };
  }
  if (err instanceof Error) return { message: err.message, code: ExitCode.error };
  return { message: String(err), code: ExitCode.error };
}

export function printError(err: unknown): number {
  const { message, code } = describeError(err);
  process.stderr.write(`error: ${message}\n`);
  return code;
}

/**
 * The action of a short-lived client command: errors become one `error: …` line and an exit code;
 * the process exits when the action is done even if a library left a socket open.
 */
export function clientAction<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number = ExitCode.ok;
    try {
      code = (await fn(...args)) ?? ExitCode.ok;
    } catch (err) {
      code = printError(err);
    }
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  };
}

export function println(line = ''): void {
  process.stdout.write(line + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** `12:34:56.789` in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** `3s`, `4m12s`, `2h05m`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Left-aligned columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * `promise`, or a rejection with `message` after `ms`. NATS connections wait for a server forever (the
 * components want that); a CLI should say it cannot reach one instead.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JetPlaneClientError(0, undefined, message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
