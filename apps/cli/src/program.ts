/** The `jetplane` program: component commands (from the apps) and the client commands. */
import { CommanderError, type Command } from 'commander';
import { VERSION } from '@jetplane/protocol';
import { connectCommand } from './connect.js';
import { backendsCommand, drainCommand, dronesCommand, statusCommand, terminateCommand } from './commands.js';
import { eventsCommand } from './events.js';
import { logsCommand } from './commands/logs.js';
import { devCommand } from './dev.js';
import { ExitCode, applyExitOverride, printError, JetPlaneCommand } from './util.js';

export type ComponentName = 'controller' | 'drone' | 'proxy';
export const COMPONENTS: readonly ComponentName[] = ['controller', 'drone', 'proxy'];

const COMPONENT_SUMMARY: Record<ComponentName, string> = {
  controller: 'run a controller: control + public HTTP API and the NATS request handlers',
  drone: 'run a drone: the agent that runs backends on this host',
  proxy: 'run a proxy: routes http://<cluster>/<token>/... to backends',
};

/** Loads a component's command lazily, so client commands do not load the servers' code. */
export type ComponentLoader = () => Promise<Command>;

export const defaultLoaders: Record<ComponentName, ComponentLoader> = {
  controller: async () => (await import('@jetplane/controller-app')).controllerCommand(),
  drone: async () => (await import('@jetplane/drone-app')).droneCommand(),
  proxy: async () => (await import('@jetplane/proxy-app')).proxyCommand(),
};

/** The subcommand named on the command line, if any (the program has no global options taking a value). */
export function subcommandOf(args: string[]): string | undefined {
  for (const arg of args) {
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Build the program for `args` (argv without node and script). Component commands are loaded only
 * when they are run or when help lists them; one that cannot be loaded is listed as unavailable.
 */
export async function buildProgram(args: string[], loaders = defaultLoaders): Promise<Command> {
  const program = new JetPlaneCommand('jetplane')
    .description('JetPlane: session backends on NATS JetStream (Plane, re-created)')
    .version(VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError()
    .enablePositionalOptions();

  const sub = subcommandOf(args);
  const versionOnly = sub === undefined && (args.includes('-V') || args.includes('--version'));
  const wanted: ComponentName[] = versionOnly
    ? []
    : sub === undefined || sub === 'help' || !isKnown(sub)
      ? [...COMPONENTS]
      : COMPONENTS.filter((c) => c === sub);
  for (const name of COMPONENTS) {
    if (!wanted.includes(name)) {
      program.command(name).description(COMPONENT_SUMMARY[name]).allowUnknownOption().helpOption(false);
      continue;
    }
    try {
      const cmd = await loaders[name]();
      if (cmd.name() !== name) cmd.name(name);
      if (!cmd.description()) cmd.description(COMPONENT_SUMMARY[name]);
      program.addCommand(cmd);
    } catch (err) {
      if (sub === name) throw new Error(`cannot load the ${name} command: ${err instanceof Error ? err.message : String(err)}`);
      const why = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 100);
      program.command(name).description(`${COMPONENT_SUMMARY[name]} (unavailable: ${why})`);
    }
  }
  program.addCommand(devCommand());
  program.addCommand(connectCommand());
  program.addCommand(statusCommand());
  program.addCommand(terminateCommand());
  program.addCommand(eventsCommand());
  program.addCommand(logsCommand());
  program.addCommand(dronesCommand());
  program.addCommand(backendsCommand());
  program.addCommand(drainCommand());
  applyExitOverride(program);
  return program;
}

function isKnown(name: string): boolean {
  return ['controller', 'drone', 'proxy', 'dev', 'connect', 'status', 'terminate', 'events', 'logs', 'drones', 'backends', 'drain'].includes(name);
}

/** Run `jetplane` with `argv` (process.argv form). Exit codes: 0 ok, 1 error, 2 usage. */
export async function run(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  // `jetplane events --json | head -1`: the reader left, which ends the command, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? ExitCode.ok);
  });
  try {
    const program = await buildProgram(args);
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.executeSubCommandAsync';
      process.exitCode = ok ? ExitCode.ok : ExitCode.usage;
      return;
    }
    process.exitCode = printError(err);
  }
}
