/** `jetplane connect`: get or create a backend for a key, like `plane admin connect`. */
import type { Command } from 'commander';
import type { ConnectRequest, ConnectResponse, Executable, SpawnConfig } from '@jetplane/protocol';
import { addClientOptions, openApi, type ClientFlags } from './api.js';
import { followUntil } from './progress.js';
import { ExitCode, UsageError, clientAction, collect, parsePositiveInt, printJson, println, JetPlaneCommand, flag } from './util.js';

export interface ConnectFlags {
  cluster?: string;
  key?: string;
  namespace?: string;
  tag?: string;
  pool?: string;
  staticToken?: boolean;
  maxIdleSeconds?: number;
  lifetimeSeconds?: number;
  user?: string;
  auth?: string;
  image?: string;
  pullPolicy?: 'IfNotPresent' | 'Always' | 'Never';
  command?: string[];
  cwd?: string;
  env?: string[];
  id?: string;
  subdomain?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (eq === -1 || !ENV_NAME.test(name)) throw new UsageError(`--env expects NAME=VALUE, got '${pair}'`);
    env[name] = pair.slice(eq + 1);
  }
  return env;
}

function parseAuth(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--auth expects a JSON object, got '${text}'`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`--auth expects a JSON object, got '${text}'`);
  }
  return value as Record<string, unknown>;
}

/**
 * The connect request for the given flags; `args` are the positional arguments (the program after `--`),
 * appended to `--command`. Throws {@link UsageError} for contradictory or malformed flags. Spawn-only
 * settings are an error without an executable unless they came from the environment (`fromEnv`, by
 * attribute name): a `JETPLANE_POOL` in the shell must not break `jetplane connect --key k`.
 */
export function buildConnectRequest(flags: ConnectFlags, args: string[] = [], fromEnv: ReadonlySet<string> = new Set()): ConnectRequest {
  const req: ConnectRequest = {};

  if (flags.key !== undefined) {
    req.key = { name: flags.key };
    if (flags.namespace !== undefined) req.key.namespace = flags.namespace;
    if (flags.tag !== undefined) req.key.tag = flags.tag;
  } else if (flags.namespace !== undefined || flags.tag !== undefined) {
    throw new UsageError('--namespace and --tag need --key');
  }

  const argv = [...(flags.command ?? []), ...args];
  const env = flags.env?.length ? parseEnv(flags.env) : undefined;
  let executable: Executable | undefined;
  if (flags.image !== undefined && argv.length > 0) {
    throw new UsageError('give either --image (docker) or --command (process), not both');
  }
  if (flags.image !== undefined) {
    if (flags.cwd !== undefined) throw new UsageError('--cwd applies to --command only');
    executable = { image: flags.image };
    if (flags.pullPolicy) executable.pull_policy = flags.pullPolicy;
    if (env) executable.env = env;
  } else if (argv.length > 0) {
    if (flags.pullPolicy) throw new UsageError('--pull-policy applies to --image only');
    executable = { command: argv };
    if (flags.cwd !== undefined) executable.cwd = flags.cwd;
    if (env) executable.env = env;
  } else {
    const spawnOnly: Array<[keyof ConnectFlags, string]> = [
      ['cluster', '--cluster'],
      ['pool', '--pool'],
      ['staticToken', '--static-token'],
      ['maxIdleSeconds', '--max-idle-seconds'],
      ['lifetimeSeconds', '--lifetime-seconds'],
      ['id', '--id'],
      ['subdomain', '--subdomain'],
      ['env', '--env'],
      ['cwd', '--cwd'],
      ['pullPolicy', '--pull-policy'],
    ];
    const given = spawnOnly
      .filter(([attr]) => flags[attr] !== undefined && flags[attr] !== false && !fromEnv.has(attr))
      .map(([, name]) => name);
    if (given.length) {
      throw new UsageError(`${given.join(', ')}: only used when spawning; add --image IMAGE or --command PROGRAM ARGS...`);
    }
  }

  if (executable) {
    const spawn: SpawnConfig = { executable };
    if (flags.cluster !== undefined) spawn.cluster = flags.cluster;
    if (flags.pool !== undefined) spawn.pool = flags.pool;
    if (flags.staticToken) spawn.use_static_token = true;
    if (flags.maxIdleSeconds !== undefined) spawn.max_idle_seconds = flags.maxIdleSeconds;
    if (flags.lifetimeSeconds !== undefined) spawn.lifetime_limit_seconds = flags.lifetimeSeconds;
    if (flags.id !== undefined) spawn.id = flags.id;
    if (flags.subdomain !== undefined) spawn.subdomain = flags.subdomain;
    req.spawn_config = spawn;
  }

  if (flags.user !== undefined) req.user = flags.user;
  if (flags.auth !== undefined) req.auth = parseAuth(flags.auth);
  return req;
}

/** The connect request of a parsed `jetplane connect` command (`program` = its positional arguments). */
export function connectRequestOf(cmd: Command, program: string[]): ConnectRequest {
  const fromEnv = new Set(cmd.options.map((o) => o.attributeName()).filter((a) => cmd.getOptionValueSource(a) === 'env'));
  return buildConnectRequest(cmd.opts<ConnectFlags>(), program, fromEnv);
}

/** The lines `plane admin connect` prints. */
export function describeConnectResponse(res: ConnectResponse): string[] {
  const lines = [`${res.spawned ? 'Created' : 'Reusing'} backend: ${res.backend_id}`, `URL: ${res.url}`, `Status URL: ${res.status_url}`];
  if (res.drone) lines.push(`Drone: ${res.drone}`);
  return lines;
}

export function connectCommand(): Command {
  const cmd = new JetPlaneCommand('connect')
    .description('get or create the backend for a key, and a connection URL for it')
    .argument('[program...]', 'process executable to spawn (after --): same as --command')
    .option('--key <name>', 'key name (a random key, so a new backend, when omitted)')
    .option('--namespace <ns>', 'key namespace')
    .option('--tag <tag>', 'key tag (must match the running backend\'s)')
    .option('--image <image>', 'spawn a docker image')
    .addOption(flag('--pull-policy <policy>', 'docker pull policy').choices(['IfNotPresent', 'Always', 'Never']))
    .option('--command <argv...>', 'spawn a local process, e.g. --command node server.js')
    .option('--cwd <dir>', 'working directory of the process (on the drone host)')
    .option('--env <NAME=VALUE>', 'environment of the backend (repeatable)', collect)
    .option('--cluster <name>', 'cluster to spawn in (the controller\'s --default-cluster when omitted)')
    .option('--pool <name>', 'drone pool')
    .option('--static-token', 'one static token (s.…) for the backend\'s whole life')
    .option('--max-idle-seconds <n>', 'terminate after this long without connections', parsePositiveInt)
    .option('--lifetime-seconds <n>', 'terminate this long after scheduling', parsePositiveInt)
    .option('--id <backend-id>', 'force the backend id')
    .option('--subdomain <name>', 'serve the backend at <name>.<cluster> only')
    .option('--user <name>', 'user name, sent to the backend as x-verified-username')
    .option('--auth <json>', 'JSON object, sent to the backend as x-verified-user-data')
    .option('--immediate', 'print the answer and return without waiting for the backend to be ready');
  addClientOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ jetplane connect --key demo --command node examples/echo-backend/server.js
  $ jetplane connect --key demo --user alice --auth '{"role":"admin"}' -- node server.js --verbose
  $ jetplane connect --key demo            # a token for the running backend of key "demo" (no spawn)`,
  );
  cmd.action(
    clientAction(async (program: string[], _opts: unknown, self: Command) => {
      const flags = self.opts<ConnectFlags & ClientFlags & { immediate?: boolean }>();
      const req = connectRequestOf(self, program);
      const api = openApi(self);
      try {
        const res = await api.connect(req);
        if (flags.json) printJson(res);
        else for (const line of describeConnectResponse(res)) println(line);
        if (flags.immediate) return ExitCode.ok;
        const last = await followUntil(api, res.backend_id, 'ready', { cluster: flags.cluster ?? null, json: Boolean(flags.json) });
        if (last?.status !== 'ready') {
          process.stderr.write(`error: backend ${res.backend_id} ${last ? `is ${last.status}` : 'status stream ended'} before it was ready\n`);
          return ExitCode.error;
        }
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}
