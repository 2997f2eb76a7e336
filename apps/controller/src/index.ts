/** `jetplane controller`: flags (each also `JETPLANE_<FLAG>`) wired to `startController` and the signals. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { startController } from '@jetplane/controller';
import { parseServers } from '@jetplane/nats';
import { createLogger, onShutdownSignal } from '@jetplane/observability';
import { timingFromJson, type Timing } from '@jetplane/protocol';

export interface ControllerCliOptions {
  nats: string;
  host: string;
  port: number;
  publicUrl?: string;
  defaultCluster?: string;
  natsReplicas: number;
  logPretty?: boolean;
  logLevel?: string;
  timing?: Partial<Timing>;
}

/** `--timing '{"droneLostAfterMs": 2000}'`: protocol timing overrides (for tests and tuning). */
function timingJson(value: string): Partial<Timing> {
  try {
    return timingFromJson(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** `--flag-name` reads `JETPLANE_FLAG_NAME`. */
function option(flags: string, description: string): Option {
  const long = /--([a-z-]+)/.exec(flags)?.[1] ?? '';
  return new Option(flags, description).env(`JETPLANE_${long.replace(/-/g, '_').toUpperCase()}`);
}

export function controllerCommand(): Command {
  return new Command('controller')
    .description('Control and public HTTP API plus the NATS request handlers (several may run at once)')
    .addOption(option('--nats <urls>', 'NATS server URL(s), comma-separated').makeOptionMandatory())
    .addOption(option('--host <host>', 'address to bind').default('127.0.0.1'))
    .addOption(option('--port <port>', 'HTTP port (0 = any free port)').argParser(integer(0, 65535)).default(8080))
    .addOption(option('--public-url <url>', 'base URL used in status_url (default http://<host>:<port>)'))
    .addOption(option('--default-cluster <name>', 'cluster for connects without spawn_config.cluster'))
    .addOption(option('--nats-replicas <n>', 'JetStream replicas for streams and buckets').argParser(integer(1, 5)).default(1))
    .addOption(option('--timing <json>', 'timing overrides in ms, e.g. {"droneLostAfterMs":2000,"keyExpirationMs":4000} (for tests and tuning)').argParser(timingJson))
    .addOption(option('--log-pretty', 'human-readable logs'))
    .addOption(option('--log-level <level>', 'log level (trace, debug, info, warn, error)'))
    .action(async (opts: ControllerCliOptions) => {
      const logger = createLogger({
        component: 'controller',
        ...(opts.logLevel ? { level: opts.logLevel } : {}),
        ...(opts.logPretty ? { pretty: true } : {}),
      });
      try {
        const controller = await startController({
          servers: parseServers(opts.nats),
          host: opts.host,
          port: opts.port,
          replicas: opts.natsReplicas,
          logger,
          ...(opts.timing ? { timing: opts.timing } : {}),
          ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
          ...(opts.defaultCluster ? { defaultCluster: opts.defaultCluster } : {}),
        });
        onShutdownSignal(logger, () => controller.close());
      } catch (err) {
        logger.fatal({ err }, 'controller failed to start');
        throw err;
      }
    });
}
