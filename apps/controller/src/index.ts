/** `jetplane controller`: flags (each also `JETPLANE_<FLAG>`) wired to `startController` and the signals. */
import type { Command } from 'commander';
import { componentCommand, componentLogger, flag, port, type ComponentFlags } from '@jetplane/command';
import { startController } from '@jetplane/controller';
import { parseServers } from '@jetplane/nats';
import { onShutdownSignal } from '@jetplane/observability';

export interface ControllerCliOptions extends ComponentFlags {
  host: string;
  port: number;
  publicUrl?: string;
  defaultCluster?: string;
}

export function controllerCommand(): Command {
  return componentCommand('controller', 'Control and public HTTP API plus the NATS request handlers (several may run at once)', (cmd) =>
    cmd
      .addOption(flag('--host <host>', 'address to bind').default('127.0.0.1'))
      .addOption(flag('--port <port>', 'HTTP port (0 = any free port)').argParser(port).default(8080))
      .addOption(flag('--public-url <url>', 'base URL used in status_url (default http://<host>:<port>)'))
      .addOption(flag('--default-cluster <name>', 'cluster for connects without spawn_config.cluster')),
  ).action(async (opts: ControllerCliOptions) => {
    const logger = componentLogger('controller', opts);
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
