/**
 * Commander options that also read `JETPLANE_<FLAG>` (contract §2: every flag does), and the parsers
 * the commands share. Commander binds an option's environment variable when the option is created,
 * so {@link JetPlaneCommand} sets it in `createOption`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isValidClusterName, timingFromJson, type Timing } from '@jetplane/protocol';

/** `JETPLANE_<FLAG>` for an option: `--max-idle-seconds` → `JETPLANE_MAX_IDLE_SECONDS`. */
export function envNameFor(option: Option): string {
  const long = (option.long ?? option.attributeName()).replace(/^--/, '').replace(/^no-/, '');
  return `JETPLANE_${long.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
}

const NO_ENV = new Set(['version', 'help']);

/** An option that also reads `JETPLANE_<FLAG>`. */
export function flag(flags: string, description?: string): Option {
  const option = new Option(flags, description);
  return NO_ENV.has(option.attributeName()) ? option : option.env(envNameFor(option));
}

/** A commander `Command` whose `.option()` flags (and subcommands') read `JETPLANE_<FLAG>` too. */
export class JetPlaneCommand extends Command {
  override createOption(flags: string, description?: string): Option {
    return flag(flags, description);
  }

  override createCommand(name?: string): Command {
    return new JetPlaneCommand(name);
  }
}

/** Options of `cmd` and its subcommands without an environment variable (`--version`/`--help` aside). */
export function optionsWithoutEnv(cmd: Command, prefix = ''): string[] {
  const path = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
  const missing = (cmd.options as readonly Option[])
    .filter((o) => !o.envVar && !o.negate && !NO_ENV.has(o.attributeName()))
    .map((o) => `${path} ${o.long ?? o.flags}`);
  return missing.concat(...cmd.commands.map((c) => optionsWithoutEnv(c, path)));
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

export const port = integer(0, 65535);

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('not a number of seconds');
  return n;
}

export function clusterName(value: string): string {
  if (!isValidClusterName(value)) throw new InvalidArgumentError('not a cluster name (host or host:port)');
  return value;
}

/** `--timing '{"droneLostAfterMs": 2000}'`: protocol timing overrides (for tests and tuning). */
export function timingJson(value: string): Partial<Timing> {
  try {
    return timingFromJson(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
