/** `jetplane proxy`: flags (each also read from `JETPLANE_<FLAG>`) wired to `startProxy` and signals. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isValidClusterName, timingFromJson, type Timing } from '@jetplane/protocol';
import { parseServers } from '@jetplane/nats';
import { createLogger, onShutdownSignal } from '@jetplane/observability';
import { startProxy } from '@jetplane/proxy';

interface ProxyFlags {
  nats: string;
  cluster: string;
  host: string;
  port: number;
  healthPort?: number;
  natsReplicas: number;
  waitForReadySeconds: number;
  logPretty?: boolean;
  logLevel?: string;
  timing?: Partial<Timing>;
}

/** `--timing '{"activityReportIntervalMs": 500}'`: protocol timing overrides (for tests and tuning). */
function timingJson(value: string): Partial<Timing> {
  try {
    return timingFromJson(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('not a port number (0-65535)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a positive integer');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('not a number of seconds');
  return n;
}

function cluster(value: string): string {
  if (!isValidClusterName(value)) throw new InvalidArgumentError('not a cluster name (host or host:port)');
  return value;
}

const opt = (flags: string, description: string, env: string): Option => new Option(flags, description).env(`JETPLANE_${env}`);

export function proxyCommand(): Command {
  return new Command('proxy')
    .description('route http://<cluster>/<token>/... to session backends')
    .addOption(opt('--nats <urls>', 'NATS server URLs, comma-separated', 'NATS').makeOptionMandatory())
    .addOption(opt('--cluster <name>', 'cluster this proxy serves (the public host, e.g. localhost:9090)', 'CLUSTER').argParser(cluster).makeOptionMandatory())
    .addOption(opt('--host <host>', 'address to listen on', 'HOST').default('127.0.0.1'))
    .addOption(opt('--port <port>', 'port to listen on (0 = any free port)', 'PORT').argParser(port).default(9090))
    .addOption(opt('--health-port <port>', 'serve /healthz and /metrics on this port', 'HEALTH_PORT').argParser(port))
    .addOption(opt('--nats-replicas <n>', 'JetStream replicas when creating buckets and streams', 'NATS_REPLICAS').argParser(positiveInt).default(1))
    .addOption(
      opt('--wait-for-ready-seconds <s>', 'how long a request waits for a backend that is not ready yet (then 503)', 'WAIT_FOR_READY_SECONDS')
        .argParser(seconds)
        .default(30),
    )
    .addOption(opt('--timing <json>', 'timing overrides in ms, e.g. {"activityReportIntervalMs":500} (for tests and tuning)', 'TIMING').argParser(timingJson))
    .addOption(opt('--log-pretty', 'human-readable logs', 'LOG_PRETTY'))
    .addOption(opt('--log-level <level>', 'pino log level (default info)', 'LOG_LEVEL'))
    .action(async function (this: Command, flags: ProxyFlags) {
      const waitGiven = this.getOptionValueSource('waitForReadySeconds') !== 'default';
      const log = createLogger({ component: 'proxy', level: flags.logLevel, pretty: flags.logPretty });
      try {
        const proxy = await startProxy({
          servers: parseServers(flags.nats),
          cluster: flags.cluster,
          host: flags.host,
          port: flags.port,
          healthPort: flags.healthPort,
          replicas: flags.natsReplicas,
          waitForReadyMs:
            !waitGiven && flags.timing?.proxyWaitForReadyMs !== undefined ? flags.timing.proxyWaitForReadyMs : Math.round(flags.waitForReadySeconds * 1000),
          ...(flags.timing?.activityReportIntervalMs !== undefined ? { activityReportIntervalMs: flags.timing.activityReportIntervalMs } : {}),
          logger: log,
        });
        onShutdownSignal(log, () => proxy.close());
      } catch (err) {
        log.error({ err }, 'proxy failed to start');
        throw err;
      }
    });
}
