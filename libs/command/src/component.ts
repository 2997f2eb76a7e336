/** What every long-running component command shares: NATS, replicas, timing and logging flags. */
import type { Timing } from '@jetplane/protocol';
import { createLogger, type Logger } from '@jetplane/observability';
import { flag, integer, JetPlaneCommand, timingJson } from './options.js';

export interface ComponentFlags {
  nats: string;
  natsReplicas: number;
  timing?: Partial<Timing>;
  logPretty?: boolean;
  logLevel?: string;
}

/** A component command (`controller`, `drone`, `proxy`) with the shared flags added after its own. */
export function componentCommand(name: string, description: string, addOwn: (cmd: JetPlaneCommand) => void): JetPlaneCommand {
  const cmd = new JetPlaneCommand(name).description(description);
  cmd.addOption(flag('--nats <urls>', 'NATS server URL(s), comma-separated').makeOptionMandatory());
  addOwn(cmd);
  cmd
    .addOption(flag('--nats-replicas <n>', 'JetStream replicas when creating buckets and streams').argParser(integer(1, 5)).default(1))
    .addOption(flag('--timing <json>', 'timing overrides in ms, e.g. {"heartbeatIntervalMs":250} (for tests and tuning)').argParser(timingJson))
    .addOption(flag('--log-pretty', 'human-readable logs'))
    .addOption(flag('--log-level <level>', 'log level (trace, debug, info, warn, error; default info)'));
  return cmd;
}

export function componentLogger(component: string, flags: ComponentFlags): Logger {
  return createLogger({
    component,
    ...(flags.logLevel ? { level: flags.logLevel } : {}),
    ...(flags.logPretty ? { pretty: true } : {}),
  });
}
