/** `jetplane proxy`: flags (each also read from `JETPLANE_<FLAG>`) wired to `startProxy` and signals. */
import type { Command } from 'commander';
import { clusterName, componentCommand, componentLogger, flag, port, seconds, type ComponentFlags } from '@jetplane/command';
import { parseServers } from '@jetplane/nats';
import { onShutdownSignal } from '@jetplane/observability';
import { startProxy } from '@jetplane/proxy';

export { PROXY_NODE_FLAGS } from '@jetplane/proxy';

interface ProxyFlags extends ComponentFlags {
  cluster: string;
  host: string;
  port: number;
  healthPort?: number;
  waitForReadySeconds: number;
}

export function proxyCommand(): Command {
  return componentCommand('proxy', 'route http://<cluster>/<token>/... to session backends', (cmd) =>
    cmd
      .addOption(flag('--cluster <name>', 'cluster this proxy serves (the public host, e.g. localhost:9090)').argParser(clusterName).makeOptionMandatory())
      .addOption(flag('--host <host>', 'address to listen on').default('127.0.0.1'))
      .addOption(flag('--port <port>', 'port to listen on (0 = any free port)').argParser(port).default(9090))
      .addOption(flag('--health-port <port>', 'serve /healthz and /metrics on this port').argParser(port))
      .addOption(flag('--wait-for-ready-seconds <s>', 'how long a request waits for a backend that is not ready yet (then 503)').argParser(seconds).default(30)),
  ).action(async function (this: Command, flags: ProxyFlags) {
      const waitGiven = this.getOptionValueSource('waitForReadySeconds') !== 'default';
      const log = componentLogger('proxy', flags);
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
