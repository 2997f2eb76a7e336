/** Flags shared by the client commands, and the control API they select (HTTP by default, or NATS). */
import type { Command } from 'commander';
import { JetPlaneClient, type ControlApi } from '@jetplane/client';
import { parseServers } from '@jetplane/nats';
import { NatsControlApi } from './nats-api.js';
import { UsageError, flag, parsePositiveInt } from './util.js';

export const DEFAULT_CONTROLLER = 'http://127.0.0.1:8080';

export interface ClientFlags {
  controller: string;
  nats?: string;
  natsReplicas: number;
  json?: boolean;
}

export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(flag('--controller <url>', 'controller base URL').default(DEFAULT_CONTROLLER))
    .addOption(
      flag('--nats <urls>', 'talk to the controllers over NATS instead (comma-separated server URLs); used when --controller is not given'),
    )
    .addOption(
      flag('--nats-replicas <n>', 'JetStream replicas, as given to the components (with --nats)')
        .argParser(parsePositiveInt)
        .default(1)
        .env('JETPLANE_NATS_REPLICAS'),
    )
    .addOption(flag('--json', 'machine-readable output (JSON)'));
}

/** Whether the command runs over NATS: `--nats` given and `--controller` not given explicitly. */
export function usesNats(cmd: Command): boolean {
  const flags = cmd.opts<ClientFlags>();
  const source = cmd.getOptionValueSource('controller');
  return Boolean(flags.nats) && (source === undefined || source === 'default');
}

export function openApi(cmd: Command): ControlApi {
  const flags = cmd.opts<ClientFlags>();
  if (usesNats(cmd)) {
    return new NatsControlApi({ servers: parseServers(flags.nats ?? ''), replicas: flags.natsReplicas });
  }
  try {
    return new JetPlaneClient({ controller: flags.controller });
  } catch (err) {
    throw new UsageError(`--controller: ${err instanceof Error ? err.message : String(err)}`);
  }
}
