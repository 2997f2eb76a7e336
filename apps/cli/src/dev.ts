/**
 * `jetplane dev`: the embedded default. A local nats-server with JetStream, a controller, N drones and a
 * proxy for cluster `localhost:<proxy-port>`, each its own child process, stopped in order on Ctrl-C.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve as resolvePath, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { PROXY_NODE_FLAGS } from '@jetplane/proxy-app';
import { ExitCode, UsageError, parsePort, parsePositiveInt, printError, JetPlaneCommand, flag } from './util.js';
import { NatsServerMissingError, REPO_ROOT, ensureNatsServer } from './nats-server.js';
import { Child, describeExit, waitForNats, type LineSink } from './supervisor.js';

export interface DevFlags {
  controllerPort: number;
  proxyPort: number;
  natsPort: number;
  dataDir: string;
  drones: number;
  executor: 'process' | 'docker';
  droneHealthPort?: number;
  proxyHealthPort?: number;
  logPretty?: boolean;
  readyTimeout: number;
  verbose?: boolean;
}

/** This CLI's executable, run by `process.execPath` for each component. */
const CLI_BIN = fileURLToPath(new URL('../bin/jetplane.js', import.meta.url));
export const EXAMPLE_BACKEND = join(REPO_ROOT, 'examples', 'echo-backend', 'server.js');
/** SIGTERM → SIGKILL grace for each child. */
const STOP_GRACE_MS = 10_000;

/** POSIX shell single-quoting. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-./:=@,+]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The copy-paste connect example printed once everything is up. */
export function connectExample(controllerUrl: string, executor: 'process' | 'docker', examplePath = EXAMPLE_BACKEND): string[] {
  const executable = executor === 'docker' ? { image: '<your image>' } : { command: ['node', examplePath] };
  const body = JSON.stringify({
    key: { name: 'demo' },
    spawn_config: { executable },
    user: 'alice',
    auth: { role: 'admin' },
  });
  const lines = [
    `  curl -s -X POST ${controllerUrl}/ctrl/connect -H 'content-type: application/json' \\`,
    `    -d ${shellQuote(body)}`,
    `  curl <the "url" of the answer>`,
  ];
  if (executor === 'process') {
    const controllerFlag = controllerUrl === 'http://127.0.0.1:8080' ? '' : ` --controller ${controllerUrl}`;
    lines.push('', 'or with the CLI:', `  npx jetplane connect${controllerFlag} --key demo --user alice --command node ${shellQuote(examplePath)}`);
  }
  return lines;
}

/** Arguments of each component (exported for tests). */
export function componentArgs(flags: DevFlags): { controller: string[]; drones: string[][]; proxy: string[]; cluster: string; natsUrl: string } {
  const natsUrl = `nats://127.0.0.1:${flags.natsPort}`;
  const cluster = `localhost:${flags.proxyPort}`;
  const controller = ['controller', '--nats', natsUrl, '--host', '127.0.0.1', '--port', String(flags.controllerPort), '--default-cluster', cluster];
  const drones: string[][] = [];
  for (let i = 1; i <= flags.drones; i++) {
    const args = ['drone', '--nats', natsUrl, '--cluster', cluster, '--name', `dr-dev-${i}`, '--executor', flags.executor];
    if (flags.droneHealthPort !== undefined) args.push('--health-port', String(flags.droneHealthPort + i - 1));
    drones.push(args);
  }
  const proxy = ['proxy', '--nats', natsUrl, '--cluster', cluster, '--host', '127.0.0.1', '--port', String(flags.proxyPort)];
  if (flags.proxyHealthPort !== undefined) proxy.push('--health-port', String(flags.proxyHealthPort));
  return { controller, drones, proxy, cluster, natsUrl };
}

async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is already in use on 127.0.0.1; is another jetplane dev running? (choose another with --${what}-port)`
            : `cannot use port ${port} (${what}): ${err.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg', 'v']);

/** A pino JSON line as `12:00:01.123 INFO  ready url=http://…`; other text unchanged. */
export function prettyLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof v.time === 'number' ? new Date(v.time).toISOString().slice(11, 23) : '';
  const level = typeof v.level === 'number' ? (LEVELS[v.level] ?? String(v.level)) : String(v.level ?? '');
  const extras = Object.entries(v)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, val]) => {
      if (k === 'err' && typeof val === 'object' && val !== null) {
        const e = val as { message?: unknown; type?: unknown };
        return `err=${JSON.stringify(String(e.message ?? e.type ?? 'error'))}`;
      }
      return `${k}=${typeof val === 'string' && !/\s/.test(val) ? val : JSON.stringify(val)}`;
    });
  return `${time} ${level.padEnd(5)} ${String(v.msg ?? '')}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

/** Environment of the children: `JETPLANE_*` settings are dev's to give as flags (only the log level passes). */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('JETPLANE_') && k !== 'JETPLANE_LOG_LEVEL') continue;
    env[k] = v;
  }
  return env;
}

export async function runDev(flags: DevFlags): Promise<number> {
  const pretty = flags.logPretty ?? Boolean(process.stdout.isTTY);
  const width = 10;
  const sink: LineSink = (name, line, stream) => {
    if (name === 'nats' && pretty && !flags.verbose && / \[(INF|DBG|TRC)\] /.test(line)) return;
    const out = pretty ? prettyLine(line) : line;
    const text = `${name.padEnd(width)} | ${out}\n`;
    if (stream === 'stderr') process.stderr.write(text);
    else process.stdout.write(text);
  };
  const say = (msg: string, fields: Record<string, unknown> = {}): void => {
    if (pretty) sink('dev', msg + Object.entries(fields).map(([k, v]) => ` ${k}=${String(v)}`).join(''), 'stdout');
    else process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), component: 'dev', pid: process.pid, msg, ...fields }) + '\n');
  };

  const dataDir = resolvePath(flags.dataDir);
  const natsDir = join(dataDir, 'nats');
  const { controller, drones, proxy, cluster, natsUrl } = componentArgs(flags);
  const controllerUrl = `http://127.0.0.1:${flags.controllerPort}`;
  const proxyUrl = `http://127.0.0.1:${flags.proxyPort}`;

  await assertPortFree(flags.natsPort, 'nats');
  await assertPortFree(flags.controllerPort, 'controller');
  await assertPortFree(flags.proxyPort, 'proxy');
  mkdirSync(natsDir, { recursive: true });

  let natsBin: string;
  try {
    natsBin = await ensureNatsServer((msg) => say(msg));
  } catch (err) {
    if (err instanceof NatsServerMissingError) return ExitCode.error; // the script printed what to install
    throw err;
  }

  const components: Child[] = [];
  let nats: Child | undefined;
  let stopping: Promise<number> | undefined;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const stopAll = (code: number): Promise<number> => {
    stopping ??= (async () => {
      say('stopping');
      await Promise.all(components.map((c) => c.stop(STOP_GRACE_MS)));
      if (nats) await nats.stop(STOP_GRACE_MS);
      say('stopped');
      finish(code);
      return code;
    })();
    return stopping;
  };
  const killAll = (): void => {
    for (const c of [...components, ...(nats ? [nats] : [])]) c.signal('SIGKILL');
  };
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A signal sent to the process group arrives twice at once (e.g. `timeout`): only a later
      // second signal (Ctrl-C pressed again) means "stop waiting".
      if (Date.now() - firstSignalAt < 1000) return;
      say(`${signal} again: killing everything`);
      killAll();
      return;
    }
    firstSignalAt = Date.now();
    say(`${signal}: shutting down`);
    void stopAll(ExitCode.ok);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort if this process dies of an error: no child outlives it.
  process.on('exit', killAll);

  const watch = (child: Child): void => {
    void child.exited.then((info) => {
      if (stopping) return;
      process.stderr.write(`error: ${child.name} exited unexpectedly (${describeExit(info)}); stopping everything\n`);
      void stopAll(ExitCode.error);
    });
  };
  const start = (name: string, command: string, args: string[]): Child => {
    const child = new Child({ name, command, args, env: childEnv(), sink });
    watch(child);
    return child;
  };

  const startup = async (): Promise<void> => {
    say('starting nats-server', { bin: natsBin, url: natsUrl, store: natsDir });
    nats = start('nats', natsBin, ['-js', '-a', '127.0.0.1', '-p', String(flags.natsPort), '-sd', natsDir, '-n', 'jetplane-dev']);
    await waitForNats(flags.natsPort, flags.readyTimeout * 1000, nats.exited);
    if (stopping) return;

    const ctl = start('controller', process.execPath, [CLI_BIN, ...controller]);
    components.push(ctl);
    await ctl.waitReady(flags.readyTimeout * 1000);
    if (stopping) return;

    const rest = drones.map((args, i) => start(`dr-dev-${i + 1}`, process.execPath, [CLI_BIN, ...args]));
    rest.push(start('proxy', process.execPath, [...PROXY_NODE_FLAGS, CLI_BIN, ...proxy]));
    components.push(...rest);
    await Promise.all(rest.map((c) => c.waitReady(flags.readyTimeout * 1000)));
  };

  const started = startup();
  started.catch(() => undefined); // a failure after stopping began is already reported
  try {
    await Promise.race([started, finished]);
  } catch (err) {
    if (!stopping) {
      printError(err);
      return stopAll(ExitCode.error);
    }
  }
  if (stopping) return stopping;

  const droneNames = drones.map((_, i) => `dr-dev-${i + 1}`);
  const banner = [
    '',
    'JetPlane is running. Ctrl-C stops everything.',
    `  controller  ${controllerUrl}   (API, /healthz, /metrics)`,
    `  proxy       ${proxyUrl}   cluster ${cluster}`,
    `  drones      ${droneNames.join(', ')} (${flags.executor} executor)`,
    `  nats        ${natsUrl}   store ${natsDir}`,
    '',
    'Start the example backend, then open the "url" it answers:',
    ...connectExample(controllerUrl, flags.executor),
    '',
    `Watch events:  npx jetplane events --nats ${natsUrl}`,
    '',
  ];
  process.stdout.write(banner.join('\n') + '\n');
  say('ready', { url: controllerUrl, controller_url: controllerUrl, proxy_url: proxyUrl, nats_url: natsUrl, cluster });
  return finished;
}

export function devCommand(): Command {
  const cmd = new JetPlaneCommand('dev')
    .description('run everything locally: nats-server (JetStream), a controller, drones and a proxy')
    .addOption(flag('--controller-port <port>', 'controller HTTP port').argParser(parsePort).default(8080))
    .addOption(flag('--proxy-port <port>', 'proxy HTTP port (the cluster is localhost:<port>)').argParser(parsePort).default(9090))
    .addOption(flag('--nats-port <port>', 'nats-server client port').argParser(parsePort).default(4222))
    .option('--data-dir <dir>', 'where JetStream keeps its data', './.jetplane')
    .addOption(flag('--drones <n>', 'number of drones').argParser(parsePositiveInt).default(1))
    .addOption(flag('--executor <kind>', 'executor of the drones').choices(['process', 'docker']).default('process'))
    .addOption(flag('--drone-health-port <port>', 'serve drone i /healthz and /metrics on <port>+i-1').argParser(parsePort))
    .addOption(flag('--proxy-health-port <port>', 'serve the proxy /healthz and /metrics on <port>').argParser(parsePort))
    .addOption(flag('--ready-timeout <seconds>', 'how long each component may take to be ready').argParser(parsePositiveInt).default(60))
    .option('--log-pretty', 'human-readable log lines (default when stdout is a terminal)')
    .option('--verbose', "show nats-server's informational lines too");
  cmd.action(async (_opts: unknown, self: Command) => {
    const flags = self.opts<DevFlags>();
    if (flags.controllerPort === flags.proxyPort || flags.controllerPort === flags.natsPort || flags.proxyPort === flags.natsPort) {
      throw new UsageError('--controller-port, --proxy-port and --nats-port must differ');
    }
    let code: number;
    try {
      code = await runDev(flags);
    } catch (err) {
      code = printError(err);
    }
    process.exit(code);
  });
  return cmd;
}
