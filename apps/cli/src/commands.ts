/** `jetplane status`, `terminate`, `drones`, `backends`, `drain`. */
import type { Command } from 'commander';
import type { ListQuery } from '@jetplane/protocol';
import { addClientOptions, openApi, type ClientFlags } from './api.js';
import { describeStatus, followUntil } from './progress.js';
import { ExitCode, UsageError, age, clientAction, clock, printJson, println, table, JetPlaneCommand } from './util.js';

type Flags<T> = T & ClientFlags;

export function statusCommand(): Command {
  const cmd = new JetPlaneCommand('status')
    .description("print a backend's status")
    .argument('<backend>', 'backend id')
    .option('--cluster <name>', "the backend's cluster (optional)")
    .option('--follow', 'print every status from the first one until terminated');
  addClientOptions(cmd);
  cmd.action(
    clientAction(async (backend: string, _opts: unknown, self: Command) => {
      const flags = self.opts<Flags<{ cluster?: string; follow?: boolean }>>();
      const api = openApi(self);
      try {
        if (flags.follow) {
          await followUntil(api, backend, 'terminated', { cluster: flags.cluster ?? null, json: Boolean(flags.json) });
          return ExitCode.ok;
        }
        const entry = await api.status(backend, flags.cluster ?? null);
        if (flags.json) printJson(entry);
        else println(`Status: ${describeStatus(entry)} at ${clock(entry.time)} (${age(Date.now() - entry.time)} ago)`);
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}

export function terminateCommand(): Command {
  const cmd = new JetPlaneCommand('terminate')
    .description('terminate a backend (soft: SIGTERM then SIGKILL after a grace period; --hard: at once)')
    .argument('<backend>', 'backend id')
    .option('--cluster <name>', "the backend's cluster (optional)")
    .option('--hard', 'hard terminate')
    .option('--immediate', 'return without waiting for the backend to be terminated');
  addClientOptions(cmd);
  cmd.action(
    clientAction(async (backend: string, _opts: unknown, self: Command) => {
      const flags = self.opts<Flags<{ cluster?: string; hard?: boolean; immediate?: boolean }>>();
      const api = openApi(self);
      try {
        await api.terminate(flags.cluster ?? null, backend, Boolean(flags.hard));
        const kind = flags.hard ? 'hard' : 'soft';
        if (flags.json) printJson({ backend_id: backend, terminate: kind });
        else println(`Terminating backend: ${backend} (${kind})`);
        if (flags.immediate) return ExitCode.ok;
        await followUntil(api, backend, 'terminated', { cluster: flags.cluster ?? null, json: Boolean(flags.json), from: 'terminating' });
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}

function addListFilters(cmd: Command): Command {
  return cmd
    .option('--cluster <name>', 'only this cluster')
    .option('--pool <name>', 'only this pool')
    .option('--state <state>', 'only this state (drones: ready, draining, stopped, lost; backends: a status)');
}

function listQuery(flags: ListQuery): ListQuery {
  const q: ListQuery = {};
  if (flags.cluster) q.cluster = flags.cluster;
  if (flags.pool !== undefined) q.pool = flags.pool;
  if (flags.state) q.state = flags.state;
  return q;
}

export function dronesCommand(): Command {
  const cmd = addListFilters(new JetPlaneCommand('drones').description('list drones'));
  addClientOptions(cmd);
  cmd.action(
    clientAction(async (_opts: unknown, self: Command) => {
      const flags = self.opts<Flags<ListQuery>>();
      const api = openApi(self);
      try {
        const drones = await api.listDrones(listQuery(flags));
        if (flags.json) {
          printJson(drones);
          return ExitCode.ok;
        }
        if (drones.length === 0) {
          println('No drones.');
          return ExitCode.ok;
        }
        println(
          table(
            ['NAME', 'CLUSTER', 'POOL', 'STATE', 'HEALTHY', 'EXECUTORS', 'BACKENDS', 'HEARTBEAT'],
            drones.map((d) => [
              d.name,
              d.cluster,
              d.pool || '-',
              d.state,
              d.healthy ? 'yes' : 'no',
              d.executors.join(','),
              d.max_backends === null || d.max_backends === undefined ? String(d.backends) : `${d.backends}/${d.max_backends}`,
              `${age(d.last_heartbeat_age_ms)} ago`,
            ]),
          ),
        );
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}

export function backendsCommand(): Command {
  const cmd = addListFilters(new JetPlaneCommand('backends').description('list backends'));
  addClientOptions(cmd);
  cmd.action(
    clientAction(async (_opts: unknown, self: Command) => {
      const flags = self.opts<Flags<ListQuery>>();
      const api = openApi(self);
      try {
        const backends = await api.listBackends(listQuery(flags));
        if (flags.json) {
          printJson(backends);
          return ExitCode.ok;
        }
        if (backends.length === 0) {
          println('No backends.');
          return ExitCode.ok;
        }
        const now = Date.now();
        println(
          table(
            ['ID', 'CLUSTER', 'DRONE', 'STATUS', 'KEY', 'AGE', 'SINCE', 'TERMINATION'],
            backends.map((b) => [
              b.id,
              b.cluster,
              b.drone,
              b.status,
              b.key.namespace ? `${b.key.namespace}/${b.key.name}` : b.key.name,
              age(now - b.created_at),
              age(now - b.status_time),
              [b.termination_reason, b.termination_kind, b.exit_code === undefined || b.exit_code === null ? '' : `exit ${b.exit_code}`]
                .filter(Boolean)
                .join(' '),
            ]),
          ),
        );
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}

export function drainCommand(): Command {
  const cmd = new JetPlaneCommand('drain')
    .description('stop scheduling new backends on a drone (running ones are untouched)')
    .argument('[drone]', 'drone name (or --drone)')
    .option('--drone <name>', 'drone name')
    .option('--cluster <name>', "the drone's cluster (required)");
  addClientOptions(cmd);
  cmd.action(
    clientAction(async (positional: string | undefined, _opts: unknown, self: Command) => {
      const flags = self.opts<Flags<{ drone?: string; cluster?: string }>>();
      const drone = positional ?? flags.drone;
      if (!drone) throw new UsageError('which drone? give its name (jetplane drain <drone> --cluster <cluster>)');
      if (!flags.cluster) throw new UsageError('--cluster is required');
      const api = openApi(self);
      try {
        const res = await api.drain(flags.cluster, drone);
        if (flags.json) printJson({ drone, cluster: flags.cluster, ...res });
        else println(res.updated ? `Draining initiated for drone ${drone}.` : `Drone ${drone} was already draining.`);
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}
