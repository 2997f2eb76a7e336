/** `jetplane events`: tail `JETPLANE_EVENTS` with an ordered consumer. */
import type { Command } from 'commander';
import { openJetPlane, parseServers } from '@jetplane/nats';
import { Streams, Subjects, Timing, type JetPlaneEvent } from '@jetplane/protocol';
import { ExitCode, UsageError, clientAction, clock, collect, parsePositiveInt, printJson, println, JetPlaneCommand, flag, withTimeout } from './util.js';

export interface EventFilter {
  /** Exact types (`drone.up`) or prefixes (`drone`, `backend`). */
  types?: string[];
  backend?: string;
  drone?: string;
  cluster?: string;
}

export function eventMatches(event: JetPlaneEvent, filter: EventFilter): boolean {
  if (filter.types?.length) {
    const ok = filter.types.some((t) => event.type === t || event.type.startsWith(t.endsWith('.') ? t : `${t}.`));
    if (!ok) return false;
  }
  if (filter.cluster && event.cluster !== filter.cluster) return false;
  if (filter.backend && !('backend_id' in event && event.backend_id === filter.backend)) return false;
  if (filter.drone && !('drone' in event && event.drone === filter.drone)) return false;
  return true;
}

/** One human line: time, type, cluster, then the ids and details of the event. */
export function formatEvent(event: JetPlaneEvent): string {
  const parts: string[] = [];
  const add = (k: string, v: unknown): void => {
    if (v !== undefined && v !== null && v !== '') parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  };
  switch (event.type) {
    case 'backend.status':
      add('backend', event.backend_id);
      add('drone', event.drone);
      add('status', event.status);
      add('reason', event.state?.termination_reason);
      add('kind', event.state?.termination_kind);
      add('exit_code', event.state?.exit_code);
      add('message', event.state?.message);
      break;
    case 'token.issued':
    case 'token.revoked':
      add('backend', event.backend_id);
      add('token', event.fingerprint);
      add('static', event.static);
      add('user', event.user);
      break;
    default: {
      const known = new Set(['type', 'cluster', 'time']);
      for (const [k, v] of Object.entries(event)) if (!known.has(k)) add(k, v);
    }
  }
  const time = typeof event.time === 'number' ? clock(event.time) : '-';
  return `${time}  ${event.type.padEnd(15)} ${event.cluster ?? '-'}  ${parts.join(' ')}`.trimEnd();
}

export function eventsCommand(): Command {
  const cmd = new JetPlaneCommand('events')
    .description('tail lifecycle events (JETPLANE_EVENTS) over NATS')
    .addOption(flag('--nats <urls>', 'NATS server URLs, comma-separated (required)'))
    .addOption(
      flag('--nats-replicas <n>', 'JetStream replicas, as given to the components')
        .argParser(parsePositiveInt)
        .default(1)
        .env('JETPLANE_NATS_REPLICAS'),
    )
    .option('--all', 'replay every stored event first (default: new events only)')
    .option('--type <type>', 'only this type or prefix, e.g. backend.status, token, drone (repeatable)', collect)
    .option('--backend <id>', 'only events about this backend')
    .option('--drone <name>', 'only events about this drone')
    .option('--cluster <name>', 'only events of this cluster')
    .option('--json', 'one JSON object per line');
  cmd.action(
    clientAction(async (_opts: unknown, self: Command) => {
      const flags = self.opts<{
        nats?: string;
        natsReplicas: number;
        all?: boolean;
        type?: string[];
        backend?: string;
        drone?: string;
        cluster?: string;
        json?: boolean;
      }>();
      if (!flags.nats) throw new UsageError('--nats is required (e.g. --nats nats://127.0.0.1:4222)');
      const filter: EventFilter = {
        types: flags.type?.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean),
        backend: flags.backend,
        drone: flags.drone,
        cluster: flags.cluster,
      };
      const servers = parseServers(flags.nats);
      const jp = await withTimeout(
        openJetPlane({ servers, name: 'jetplane-cli-events', replicas: flags.natsReplicas }),
        Timing.requestTimeoutMs,
        `cannot reach NATS at ${servers.join(',')} within ${Timing.requestTimeoutMs / 1000} s`,
      );
      try {
        const consumer = await jp.streams.js.consumers.get(Streams.events, {
          // A single string: nats-server 2.9 knows only `filter_subject`.
          filter_subjects: Subjects.eventsAll,
          deliver_policy: flags.all ? 'all' : 'new',
        });
        const messages = await consumer.consume();
        const stop = (): void => void messages.stop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        for await (const msg of messages) {
          let event: JetPlaneEvent;
          try {
            event = msg.json<JetPlaneEvent>();
          } catch {
            continue;
          }
          if (!eventMatches(event, filter)) continue;
          if (flags.json) printJson(event);
          else println(formatEvent(event));
        }
        return ExitCode.ok;
      } finally {
        await jp.close();
      }
    }),
  );
  return cmd;
}
