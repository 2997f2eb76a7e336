/** `jetplane drone`: flags and `JETPLANE_*` env in, a running drone out, stopped on SIGTERM/SIGINT. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AVAILABLE_EXECUTORS, DOCKER_NETWORK_MODES, DroneConfigError, droneTimingFrom, startDrone, type RunningDrone } from '@jetplane/drone';
import { parseServers } from '@jetplane/nats';
import { createLogger, onShutdownSignal } from '@jetplane/observability';
import { EXECUTOR_KINDS, timingFromJson, type ExecutorKind, type Timing } from '@jetplane/protocol';

interface DroneOptions {
  nats: string;
  cluster: string;
  pool: string;
  name?: string;
  executor: ExecutorKind[];
  dockerSocket?: string;
  mountBase?: string;
  dockerNetworkMode: 'host' | 'bridge';
  maxBackends?: number;
  healthPort?: number;
  natsReplicas: number;
  softTerminateGraceSeconds: number;
  startupTimeoutSeconds: number;
  logPretty?: boolean;
  logLevel?: string;
  stateDir?: string;
  exitWhenDrained?: boolean;
  timing?: Partial<Timing>;
}

/** `--timing '{"heartbeatIntervalMs": 250, ...}'`: protocol timing overrides (for tests and tuning). */
function timingJson(value: string): Partial<Timing> {
  try {
    return timingFromJson(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/**
 * `--executor process,docker` or the flag repeated (`JETPLANE_EXECUTOR=process,docker` too). The
 * default (`process`) is replaced, not added to, by the first value given.
 */
function executorList(value: string, previous: ExecutorKind[] | undefined): ExecutorKind[] {
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  for (const kind of kinds) {
    if (!(EXECUTOR_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidArgumentError(`unknown executor ${JSON.stringify(kind)} (choose from ${EXECUTOR_KINDS.join(', ')})`);
    }
  }
  const base = previous === DEFAULT_EXECUTORS ? [] : (previous ?? []);
  return [...new Set([...base, ...(kinds as ExecutorKind[])])];
}
const DEFAULT_EXECUTORS: ExecutorKind[] = ['process'];

function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** `--flag` that also reads `JETPLANE_<FLAG>`. */
function option(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(`JETPLANE_${env}`);
}

export function droneCommand(): Command {
  return new Command('drone')
    .description('run backends for a cluster: takes spawn/terminate work from NATS')
    .addOption(option('--nats <urls>', 'NATS server URL(s), comma-separated', 'NATS').makeOptionMandatory())
    .addOption(option('--cluster <name>', 'cluster this drone serves (e.g. localhost:9090)', 'CLUSTER').makeOptionMandatory())
    .addOption(option('--pool <name>', 'scheduling pool', 'POOL').default(''))
    .addOption(option('--name <id>', 'drone name (default: a fresh dr-…)', 'NAME'))
    .addOption(
      option('--executor <kinds>', `how backends run: ${EXECUTOR_KINDS.join(', ')} (comma-separated or repeated)`, 'EXECUTOR')
        .argParser(executorList)
        .default(DEFAULT_EXECUTORS, 'process'),
    )
    .addOption(option('--docker-socket <path>', 'Docker Engine socket (default: DOCKER_HOST, else /var/run/docker.sock)', 'DOCKER_SOCKET'))
    .addOption(option('--mount-base <dir>', 'directory under which docker executables get their `mount` (absolute)', 'MOUNT_BASE'))
    .addOption(
      option('--docker-network-mode <mode>', 'host: share the drone network, drone-picked port; bridge: reach containers at their IP, port 8080', 'DOCKER_NETWORK_MODE')
        .choices(DOCKER_NETWORK_MODES)
        .default('host'),
    )
    .addOption(option('--max-backends <n>', 'most backends the scheduler places here', 'MAX_BACKENDS').argParser(integer(1)))
    .addOption(option('--health-port <port>', 'serve /healthz and /metrics on this port', 'HEALTH_PORT').argParser(integer(0, 65535)))
    .addOption(option('--nats-replicas <n>', 'JetStream replicas when creating streams and buckets', 'NATS_REPLICAS').argParser(integer(1, 5)).default(1))
    .addOption(
      option('--soft-terminate-grace-seconds <s>', 'SIGKILL this long after a soft terminate', 'SOFT_TERMINATE_GRACE_SECONDS')
        .argParser(integer(1))
        .default(30),
    )
    .addOption(
      option('--startup-timeout-seconds <s>', 'a backend not ready by then ends startuptimeout', 'STARTUP_TIMEOUT_SECONDS')
        .argParser(integer(1))
        .default(300),
    )
    .addOption(option('--state-dir <dir>', 'local state (running process groups, for cleanup after a crash); default <tmpdir>/jetplane-drone-<name>', 'STATE_DIR'))
    .addOption(option('--exit-when-drained', 'once drained and running no backend, stop (exit 0)', 'EXIT_WHEN_DRAINED'))
    .addOption(
      option('--timing <json>', 'timing overrides in ms, e.g. {"heartbeatIntervalMs":250,"keyRenewAfterMs":1000} (for tests and tuning)', 'TIMING').argParser(timingJson),
    )
    .addOption(option('--log-pretty', 'human-readable logs', 'LOG_PRETTY'))
    .addOption(option('--log-level <level>', 'log level', 'LOG_LEVEL').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']))
    .action(async function (this: Command, opts: DroneOptions) {
      const unavailable = opts.executor.filter((kind) => !AVAILABLE_EXECUTORS.includes(kind));
      if (unavailable.length > 0) this.error(`error: ${unavailable.join(', ')} executor not available`, { exitCode: 2 });
      const log = createLogger({ component: 'drone', ...(opts.logLevel ? { level: opts.logLevel } : {}), pretty: opts.logPretty === true });
      let servers: string[];
      try {
        servers = parseServers(opts.nats);
      } catch (err) {
        return this.error(`error: ${(err as Error).message}`, { exitCode: 2 });
      }
      // Registered before starting: startDrone waits for NATS indefinitely, and a SIGTERM meanwhile must
      // still end the process cleanly (nothing runs yet then, so there is nothing to stop).
      let drone: RunningDrone | undefined;
      onShutdownSignal(log, async () => drone?.close());
      const given = (name: string): boolean => this.getOptionValueSource(name) !== 'default';
      try {
        drone = await startDrone({
          servers,
          cluster: opts.cluster,
          pool: opts.pool,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          executors: opts.executor,
          docker: {
            ...(opts.dockerSocket !== undefined ? { socket: opts.dockerSocket } : {}),
            ...(opts.mountBase !== undefined ? { mountBase: opts.mountBase } : {}),
            networkMode: opts.dockerNetworkMode,
          },
          maxBackends: opts.maxBackends ?? null,
          healthPort: opts.healthPort ?? null,
          replicas: opts.natsReplicas,
          timing: {
            ...droneTimingFrom(opts.timing ?? {}),
            // An explicit flag wins over --timing; a flag's default does not.
            ...(given('softTerminateGraceSeconds') || opts.timing?.softTerminateGraceMs === undefined
              ? { softTerminateGraceMs: opts.softTerminateGraceSeconds * 1000 }
              : {}),
            ...(given('startupTimeoutSeconds') || opts.timing?.startupTimeoutMs === undefined ? { startupTimeoutMs: opts.startupTimeoutSeconds * 1000 } : {}),
          },
          ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
          exitWhenDrained: opts.exitWhenDrained === true,
          logger: log,
        });
        // --exit-when-drained: the drone closes itself once drained and empty; then the process ends.
        if (opts.exitWhenDrained === true) void drone.stopped.then(() => process.exit(0));
      } catch (err) {
        if (err instanceof DroneConfigError) return this.error(`error: ${err.message}`, { exitCode: 2 });
        log.fatal({ err }, 'drone failed to start');
        process.exitCode = 1;
      }
    });
}
