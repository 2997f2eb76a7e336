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

/**
 * `drones` / `backends`: fetch a filtered list, print it as JSON (`--json`) or as a table. `what` names
 * the rows for the empty case; `row` turns one item into table cells.
 */
function listCommand<T>(
  name: string,
  description: string,
  fetch: (api: ReturnType<typeof openApi>, query: ListQuery) => Promise<T[]>,
  header: string[],
  row: (item: T, now: number) => string[],
): Command {
  const cmd = addListFilters(new JetPlaneCommand(name).description(description));
  addClientOptions(cmd);
  cmd.action(
    clientAction(async (_opts: unknown, self: Command) => {
      const flags = self.opts<Flags<ListQuery>>();
      const api = openApi(self);
      try {
        const items = await fetch(api, listQuery(flags));
        if (flags.json) printJson(items);
        else if (items.length === 0) println(`No ${name}.`);
        else {
          const now = Date.now();
          println(table(header, items.map((item) => row(item, now))));
        }
        return ExitCode.ok;
      } finally {
        await api.close();
      }
    }),
  );
  return cmd;
}

export function dronesCommand(): Command {
  return listCommand(
    'drones',
    'list drones',
    (api, query) => api.listDrones(query),
    ['NAME', 'CLUSTER', 'POOL', 'STATE', 'HEALTHY', 'EXECUTORS', 'BACKENDS', 'HEARTBEAT'],
    (d) => [
      d.name,
      d.cluster,
      d.pool || '-',
      d.state,
      d.healthy ? 'yes' : 'no',
      d.executors.join(','),
      d.max_backends === null || d.max_backends === undefined ? String(d.backends) : `${d.backends}/${d.max_backends}`,
      `${age(d.last_heartbeat_age_ms)} ago`,
    ],
  );
}

export function backendsCommand(): Command {
  return listCommand(
    'backends',
    'list backends',
    (api, query) => api.listBackends(query),
    ['ID', 'CLUSTER', 'DRONE', 'STATUS', 'KEY', 'AGE', 'SINCE', 'TERMINATION'],
    (b, now) => [
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
    ],
  );
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
