import { afterEach, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import type { ConnectRequest } from '@jetplane/protocol';
import { connectCommand, connectRequestOf, describeConnectResponse } from './connect.js';
import { UsageError } from './util.js';

/** Parse `jetplane connect <args>` with the real flag definitions, without running the action. */
function requestFor(args: string[]): ConnectRequest {
  const cmd = connectCommand();
  cmd.exitOverride();
  let result: ConnectRequest | undefined;
  cmd.action((program: string[], _opts: unknown, self: Command) => {
    result = connectRequestOf(self, program);
  });
  cmd.parse(args, { from: 'user' });
  if (!result) throw new Error('action did not run');
  return result;
}

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('JETPLANE_') && !(k in saved)) delete process.env[k];
});

describe('jetplane connect → connect request', () => {
  it('maps a process executable with key, user, auth and env', () => {
    expect(
      requestFor([
        '--key', 'demo', '--namespace', 'ns', '--tag', 't1',
        '--user', 'alice', '--auth', '{"role":"admin"}',
        '--env', 'EXAMPLE_A=1', '--env', 'EXAMPLE_B=x=y',
        '--command', 'node', 'examples/echo-backend/server.js',
      ]),
    ).toEqual({
      key: { name: 'demo', namespace: 'ns', tag: 't1' },
      spawn_config: {
        executable: { command: ['node', 'examples/echo-backend/server.js'], env: { EXAMPLE_A: '1', EXAMPLE_B: 'x=y' } },
      },
      user: 'alice',
      auth: { role: 'admin' },
    });
  });

  it('takes the program after -- (arguments may start with a dash), appended to --command', () => {
    expect(requestFor(['--key', 'k', '--', 'node', 'server.js', '--verbose']).spawn_config?.executable).toEqual({
      command: ['node', 'server.js', '--verbose'],
    });
    expect(requestFor(['--command', 'node', 'server.js', '--cwd', '/srv', '--', '--port-flag']).spawn_config?.executable).toEqual({
      command: ['node', 'server.js', '--port-flag'],
      cwd: '/srv',
    });
  });

  it('maps every spawn option', () => {
    expect(
      requestFor([
        '--image', 'ghcr.io/example/app:1', '--pull-policy', 'Always', '--cluster', 'localhost:9090', '--pool', 'gpu',
        '--static-token', '--max-idle-seconds', '500', '--lifetime-seconds', '3600', '--id', 'b-1', '--subdomain', 'sub',
      ]),
    ).toEqual({
      spawn_config: {
        executable: { image: 'ghcr.io/example/app:1', pull_policy: 'Always' },
        cluster: 'localhost:9090',
        pool: 'gpu',
        use_static_token: true,
        max_idle_seconds: 500,
        lifetime_limit_seconds: 3600,
        id: 'b-1',
        subdomain: 'sub',
      },
    });
  });

  it('without an executable sends no spawn_config (a token for the running backend of the key)', () => {
    expect(requestFor(['--key', 'demo'])).toEqual({ key: { name: 'demo' } });
    expect(requestFor([])).toEqual({});
  });

  it('reads JETPLANE_<FLAG> from the environment', () => {
    process.env.JETPLANE_KEY = 'from-env';
    process.env.JETPLANE_MAX_IDLE_SECONDS = '60';
    process.env.JETPLANE_USER = 'bob';
    expect(requestFor(['--command', 'node', 'a.js'])).toEqual({
      key: { name: 'from-env' },
      spawn_config: { executable: { command: ['node', 'a.js'] }, max_idle_seconds: 60 },
      user: 'bob',
    });
    // spawn settings from the environment are simply unused when nothing is spawned
    expect(requestFor(['--key', 'flag-wins'])).toEqual({ key: { name: 'flag-wins' }, user: 'bob' });
  });

  it.each([
    [['--image', 'img', '--command', 'node'], /either --image/],
    [['--tag', 'x'], /need --key/],
    [['--pool', 'p'], /--pool: only used when spawning/],
    [['--auth', '[1]', '--command', 'x'], /JSON object/],
    [['--auth', 'nope', '--command', 'x'], /JSON object/],
    [['--env', '1BAD=x', '--command', 'x'], /NAME=VALUE/],
    [['--env', 'NOVALUE', '--command', 'x'], /NAME=VALUE/],
    [['--cwd', '/x', '--image', 'img'], /--cwd applies/],
  ])('rejects %j', (args, message) => {
    expect(() => requestFor(args)).toThrow(UsageError);
    expect(() => requestFor(args)).toThrow(message);
  });

  it('rejects malformed numbers as usage errors', () => {
    expect(() => requestFor(['--max-idle-seconds', 'abc'])).toThrow(/positive integer/);
    expect(() => requestFor(['--lifetime-seconds', '0'])).toThrow(/positive integer/);
  });
});

describe('describeConnectResponse', () => {
  const base = {
    backend_id: 'b1',
    status: 'scheduled' as const,
    token: 't',
    url: 'http://localhost:9090/t/',
    subdomain: null,
    secret_token: 's',
    status_url: 'http://127.0.0.1:8080/pub/b/b1/status',
  };
  it('prints what plane admin connect prints', () => {
    expect(describeConnectResponse({ ...base, spawned: true, drone: 'dr-1' })).toEqual([
      'Created backend: b1',
      'URL: http://localhost:9090/t/',
      'Status URL: http://127.0.0.1:8080/pub/b/b1/status',
      'Drone: dr-1',
    ]);
    expect(describeConnectResponse({ ...base, spawned: false, drone: null })[0]).toBe('Reusing backend: b1');
  });
});
