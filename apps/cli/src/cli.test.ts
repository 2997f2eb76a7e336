import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import type { JetPlaneEvent } from '@jetplane/protocol';
import { JetPlaneClientError } from '@jetplane/client';
import { buildProgram, subcommandOf } from './program.js';
import { componentArgs, connectExample, prettyLine, shellQuote, type DevFlags } from './dev.js';
import { eventMatches, formatEvent } from './events.js';
import { readyUrl } from './supervisor.js';
import { describeError, envNameFor, optionsWithoutEnv } from './util.js';

const fakeLoaders = (loaded: string[]) => ({
  controller: async () => (loaded.push('controller'), new Command('controller').description('c').option('--port <p>')),
  drone: async () => (loaded.push('drone'), new Command('drone').option('--health-port <p>')),
  proxy: async () => {
    loaded.push('proxy');
    throw new Error('not built');
  },
});

describe('program', () => {
  it('finds the subcommand', () => {
    expect(subcommandOf(['--json', 'connect', 'x'])).toBe('connect');
    expect(subcommandOf(['--help'])).toBeUndefined();
  });

  it('loads no component for a client command, only the one run, all for help', async () => {
    let loaded: string[] = [];
    await buildProgram(['connect'], fakeLoaders(loaded));
    expect(loaded).toEqual([]);
    await buildProgram(['drone', '--help'], fakeLoaders((loaded = [])));
    expect(loaded).toEqual(['drone']);
    const program = await buildProgram(['--help'], fakeLoaders((loaded = [])));
    expect(loaded).toEqual(['controller', 'drone', 'proxy']);
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(['controller', 'drone', 'proxy', 'dev', 'connect', 'status', 'terminate', 'events', 'logs', 'drones', 'backends', 'drain']);
    expect(program.commands.find((c) => c.name() === 'proxy')?.description()).toMatch(/unavailable: not built/);
  });

  it('fails clearly when the component run cannot be loaded', async () => {
    await expect(buildProgram(['proxy'], fakeLoaders([]))).rejects.toThrow(/cannot load the proxy command: not built/);
  });

  it('gives every flag of its own commands a JETPLANE_ variable', async () => {
    const program = await buildProgram(['--help'], fakeLoaders([]));
    const own = program.commands.filter((c) => !['controller', 'drone', 'proxy'].includes(c.name()));
    expect(own.flatMap((c) => optionsWithoutEnv(c))).toEqual([]);
    const env = (cmd: string, flag: string) =>
      program.commands.find((c) => c.name() === cmd)!.options.find((o) => o.long === flag)?.envVar;
    expect(env('connect', '--max-idle-seconds')).toBe('JETPLANE_MAX_IDLE_SECONDS');
    expect(env('connect', '--controller')).toBe('JETPLANE_CONTROLLER');
    expect(env('dev', '--controller-port')).toBe('JETPLANE_CONTROLLER_PORT');
    expect(program.options.find((o) => o.long === '--version')?.envVar).toBeUndefined();
  });

  it('names env variables after the long flag', () => {
    expect(envNameFor(new Command().createOption('--static-token'))).toBe('JETPLANE_STATIC_TOKEN');
  });
});

describe('errors', () => {
  it('formats API errors as kind: message with exit code 1', () => {
    const err = new JetPlaneClientError(409, { id: 'x', kind: 'KeyHeld', message: 'Lock is held but tag does not match.' });
    expect(describeError(err)).toEqual({ message: 'KeyHeld: Lock is held but tag does not match.', code: 1 });
  });
});

describe('dev', () => {
  const flags: DevFlags = {
    controllerPort: 8080,
    proxyPort: 9090,
    natsPort: 4222,
    dataDir: '.jetplane',
    drones: 2,
    executor: 'process',
    droneHealthPort: 9100,
    readyTimeout: 60,
  };

  it('starts each component with its own flags', () => {
    const a = componentArgs(flags);
    expect(a.cluster).toBe('localhost:9090');
    expect(a.controller).toEqual(['controller', '--nats', 'nats://127.0.0.1:4222', '--host', '127.0.0.1', '--port', '8080', '--default-cluster', 'localhost:9090']);
    expect(a.drones).toEqual([
      ['drone', '--nats', 'nats://127.0.0.1:4222', '--cluster', 'localhost:9090', '--name', 'dr-dev-1', '--executor', 'process', '--health-port', '9100'],
      ['drone', '--nats', 'nats://127.0.0.1:4222', '--cluster', 'localhost:9090', '--name', 'dr-dev-2', '--executor', 'process', '--health-port', '9101'],
    ]);
    expect(a.proxy).toEqual(['proxy', '--nats', 'nats://127.0.0.1:4222', '--cluster', 'localhost:9090', '--host', '127.0.0.1', '--port', '9090']);
  });

  it('prints a connect example that survives the shell', () => {
    const lines = connectExample('http://127.0.0.1:8080', 'process', "/tmp/it's here/server.js");
    expect(lines[0]).toContain("curl -s -X POST http://127.0.0.1:8080/ctrl/connect -H 'content-type: application/json'");
    const quoted = lines[1]!.trim().slice(3);
    // undo POSIX single quoting
    const body = quoted.slice(1, -1).replace(/'\\''/g, "'");
    expect(JSON.parse(body)).toEqual({
      key: { name: 'demo' },
      spawn_config: { executable: { command: ['node', "/tmp/it's here/server.js"] } },
      user: 'alice',
      auth: { role: 'admin' },
    });
    expect(shellQuote('plain/path.js')).toBe('plain/path.js');
  });

  it('recognises ready lines and prettifies pino lines', () => {
    expect(readyUrl('{"level":30,"msg":"ready","url":"http://127.0.0.1:8080"}')).toBe('http://127.0.0.1:8080');
    expect(readyUrl('{"level":30,"msg":"ready"}')).toBe('');
    expect(readyUrl('{"level":30,"msg":"not ready"}')).toBeUndefined();
    expect(readyUrl('ready')).toBeUndefined();
    expect(prettyLine('{"level":30,"time":0,"pid":1,"component":"proxy","msg":"ready","url":"http://x"}')).toBe('00:00:00.000 INFO  ready url=http://x');
    expect(prettyLine('plain text')).toBe('plain text');
  });
});

describe('events', () => {
  const status: JetPlaneEvent = {
    type: 'backend.status',
    cluster: 'c1',
    time: 0,
    backend_id: 'b1',
    drone: 'dr-1',
    status: 'terminated',
    state: { status: 'terminated', time: 0, termination_reason: 'exit', exit_code: 3 },
  };
  const drone: JetPlaneEvent = { type: 'drone.up', cluster: 'c1', time: 0, drone: 'dr-1', pool: '' };

  it('filters by type prefix, backend, drone and cluster', () => {
    expect(eventMatches(status, { types: ['backend'] })).toBe(true);
    expect(eventMatches(status, { types: ['backend.status'] })).toBe(true);
    expect(eventMatches(status, { types: ['back'] })).toBe(false);
    expect(eventMatches(drone, { types: ['token', 'drone'] })).toBe(true);
    expect(eventMatches(status, { backend: 'b1' })).toBe(true);
    expect(eventMatches(drone, { backend: 'b1' })).toBe(false);
    expect(eventMatches(drone, { drone: 'dr-1', cluster: 'c1' })).toBe(true);
    expect(eventMatches(drone, { cluster: 'c2' })).toBe(false);
  });

  it('formats one line per event', () => {
    expect(formatEvent(status)).toMatch(/backend\.status +c1 +backend=b1 drone=dr-1 status=terminated reason=exit exit_code=3$/);
    expect(formatEvent(drone)).toMatch(/drone\.up +c1 +drone=dr-1$/);
  });
});
