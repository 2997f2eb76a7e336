/** `jetplane drone`: flags and `JETPLANE_*` env in, a running drone out, stopped on SIGTERM/SIGINT. */
import { InvalidArgumentError, type Command } from 'commander';
import { componentCommand, componentLogger, flag, integer, port, type ComponentFlags } from '@jetplane/command';
import { AVAILABLE_EXECUTORS, DEFAULT_BACKEND_PORTS, DOCKER_NETWORK_MODES, DroneConfigError, droneTimingFrom, parsePortRange, startDrone, type PortRange, type RunningDrone } from '@jetplane/drone';
import { parseServers } from '@jetplane/nats';
import { onShutdownSignal } from '@jetplane/observability';
import { EXECUTOR_KINDS, type ExecutorKind } from '@jetplane/protocol';

interface DroneOptions extends ComponentFlags {
  cluster: string;
  pool: string;
  name?: string;
  executor: ExecutorKind[];
  dockerSocket?: string;
  mountBase?: string;
  dockerNetworkMode: 'host' | 'bridge';
  maxBackends?: number;
  backendPorts: PortRange;
  healthPort?: number;
  softTerminateGraceSeconds: number;
  startupTimeoutSeconds: number;
  stateDir?: string;
  exitWhenDrained?: boolean;
}

/**
 * `--executor process,docker` or the flag repeated (`JETPLANE_EXECUTOR=process,docker` too). The
 * default (`process`) is replaced, not added to, by the first value given.
 */
function executorList(value: string, previous: ExecutorKind[] | undefined): ExecutorKind[] {
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  for (const kind of kinds) {
    if (!(EXECUTOR_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidArgumentError(`unknown executor ${JSON.stringify(kind)} (choose from ${EXECUTOR_KINDS.join(', ')})`);
    }
  }
  const base = previous === DEFAULT_EXECUTORS ? [] : (previous ?? []);
  return [...new Set([...base, ...(kinds as ExecutorKind[])])];
}
const DEFAULT_EXECUTORS: ExecutorKind[] = ['process'];

function portRange(value: string): PortRange {
  const range = parsePortRange(value);
  if (!range) throw new InvalidArgumentError('expected first-last, within 1024-65535');
  return range;
}

export function droneCommand(): Command {
  return componentCommand('drone', 'run backends for a cluster: takes spawn/terminate work from NATS', (cmd) =>
    cmd
    .addOption(flag('--cluster <name>', 'cluster this drone serves (e.g. localhost:9090)').makeOptionMandatory())
    .addOption(flag('--pool <name>', 'scheduling pool').default(''))
    .addOption(flag('--name <id>', 'drone name (default: a fresh dr-…)'))
    .addOption(
      flag('--executor <kinds>', `how backends run: ${EXECUTOR_KINDS.join(', ')} (comma-separated or repeated)`)
        .argParser(executorList)
        .default(DEFAULT_EXECUTORS, 'process'),
    )
    .addOption(flag('--docker-socket <path>', 'Docker Engine socket (default: DOCKER_HOST, else /var/run/docker.sock)'))
    .addOption(flag('--mount-base <dir>', 'directory under which docker executables get their `mount` (absolute)'))
    .addOption(
      flag('--docker-network-mode <mode>', 'host: share the drone network, drone-picked port; bridge: reach containers at their IP, port 8080')
        .choices(DOCKER_NETWORK_MODES)
        .default('host'),
    )
    .addOption(flag('--max-backends <n>', 'most backends the scheduler places here').argParser(integer(1)))
    .addOption(
      flag('--backend-ports <first-last>', 'ports given to process backends (keep clear of the ephemeral range)')
        .argParser(portRange)
        .default(DEFAULT_BACKEND_PORTS, `${DEFAULT_BACKEND_PORTS.first}-${DEFAULT_BACKEND_PORTS.last}`),
    )
    .addOption(flag('--health-port <port>', 'serve /healthz and /metrics on this port').argParser(port))
    .addOption(
      flag('--soft-terminate-grace-seconds <s>', 'SIGKILL this long after a soft terminate')
        .argParser(integer(1))
        .default(30),
    )
    .addOption(
      flag('--startup-timeout-seconds <s>', 'a backend not ready by then ends startuptimeout')
        .argParser(integer(1))
        .default(300),
    )
    .addOption(flag('--state-dir <dir>', 'local state (running process groups, for cleanup after a crash); default <tmpdir>/jetplane-drone-<name>'))
    .addOption(flag('--exit-when-drained', 'once drained and running no backend, stop (exit 0)'))
  ).action(async function (this: Command, opts: DroneOptions) {
      const unavailable = opts.executor.filter((kind) => !AVAILABLE_EXECUTORS.includes(kind));
      if (unavailable.length > 0) this.error(`error: ${unavailable.join(', ')} executor not available`, { exitCode: 2 });
      const log = componentLogger('drone', opts);
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
      const given = (name: string): boolean => this.getOptionValueSource(name) !== 'default';
      try {
        drone = await startDrone({
          servers,
          cluster: opts.cluster,
          pool: opts.pool,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          executors: opts.executor,
          docker: {
            ...(opts.dockerSocket !== undefined ? { socket: opts.dockerSocket } : {}),
            ...(opts.mountBase !== undefined ? { mountBase: opts.mountBase } : {}),
            networkMode: opts.dockerNetworkMode,
          },
          maxBackends: opts.maxBackends ?? null,
          backendPorts: opts.backendPorts,
          healthPort: opts.healthPort ?? null,
          replicas: opts.natsReplicas,
          timing: {
            ...droneTimingFrom(opts.timing ?? {}),
            // An explicit flag wins over --timing; a flag's default does not.
            ...(given('softTerminateGraceSeconds') || opts.timing?.softTerminateGraceMs === undefined
              ? { softTerminateGraceMs: opts.softTerminateGraceSeconds * 1000 }
              : {}),
            ...(given('startupTimeoutSeconds') || opts.timing?.startupTimeoutMs === undefined ? { startupTimeoutMs: opts.startupTimeoutSeconds * 1000 } : {}),
          },
          ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
          exitWhenDrained: opts.exitWhenDrained === true,
          logger: log,
        });
        // --exit-when-drained: the drone closes itself once drained and empty; then the process ends.
        if (opts.exitWhenDrained === true) void drone.stopped.then(() => process.exit(0));
      } catch (err) {
        if (err instanceof DroneConfigError) return this.error(`error: ${err.message}`, { exitCode: 2 });
        log.fatal({ err }, 'drone failed to start');
        process.exitCode = 1;
      }
    });
}
