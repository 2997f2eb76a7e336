/** `jetplane drone`: flags and `JETPLANE_*` env in, a running drone out, stopped on SIGTERM/SIGINT. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AVAILABLE_EXECUTORS, DroneConfigError, startDrone, type RunningDrone } from '@jetplane/drone';
import { parseServers } from '@jetplane/nats';
import { createLogger, onShutdownSignal } from '@jetplane/observability';
import { EXECUTOR_KINDS, type ExecutorKind } from '@jetplane/protocol';

interface DroneOptions {
  nats: string;
  cluster: string;
  pool: string;
  name?: string;
  executor: ExecutorKind;
  maxBackends?: number;
  healthPort?: number;
  natsReplicas: number;
  softTerminateGraceSeconds: number;
  startupTimeoutSeconds: number;
  logPretty?: boolean;
  logLevel?: string;
}

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
    .addOption(option('--executor <kind>', 'how backends run', 'EXECUTOR').choices(EXECUTOR_KINDS).default('process'))
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
    .addOption(option('--log-pretty', 'human-readable logs', 'LOG_PRETTY'))
    .addOption(option('--log-level <level>', 'log level', 'LOG_LEVEL').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']))
    .action(async function (this: Command, opts: DroneOptions) {
      if (!AVAILABLE_EXECUTORS.includes(opts.executor)) this.error(`error: ${opts.executor} executor not available yet`, { exitCode: 2 });
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
      try {
        drone = await startDrone({
          servers,
          cluster: opts.cluster,
          pool: opts.pool,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          executors: [opts.executor],
          maxBackends: opts.maxBackends ?? null,
          healthPort: opts.healthPort ?? null,
          replicas: opts.natsReplicas,
          timing: {
            softTerminateGraceMs: opts.softTerminateGraceSeconds * 1000,
            startupTimeoutMs: opts.startupTimeoutSeconds * 1000,
          },
          logger: log,
        });
      } catch (err) {
        if (err instanceof DroneConfigError) return this.error(`error: ${err.message}`, { exitCode: 2 });
        log.fatal({ err }, 'drone failed to start');
        process.exitCode = 1;
      }
    });
}
