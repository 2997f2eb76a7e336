import { afterEach, describe, expect, it } from 'vitest';
import type { BackendSpec, ExecutorHooks, OutputStream, RunningBackend } from '../executor.js';
import { ProcessExecutor } from './process.js';
import { PortPool } from './port-pool.js';
import { backendEnv, inheritedEnv } from './env.js';
import { killAllGroups, trackedGroups } from './process-groups.js';
import { waitFor } from '../fakes.fixture.js';

const NODE = process.execPath;
const started: RunningBackend[] = [];

afterEach(async () => {
  // Whatever a failed test left behind goes, and the exits are awaited so no child outlives the file.
  for (const b of started) b.terminate('hard');
  await Promise.all(started.splice(0).map((b) => b.exited));
  killAllGroups();
});

function spec(command: string[], extra: Partial<BackendSpec> = {}): BackendSpec {
  return {
    backendId: 'b1',
    executable: { command },
    env: { SESSION_BACKEND_ID: 'b1', SESSION_BACKEND_KEY: 'k', SESSION_BACKEND_FENCING_TOKEN: '7' },
    signal: new AbortController().signal,
    ...extra,
  };
}

function recorder() {
  const lines: Array<[OutputStream, string]> = [];
  const phases: string[] = [];
  const hooks: ExecutorHooks = {
    onPhase: (status) => void phases.push(status),
    onOutput: (stream, line) => void lines.push([stream, line]),
  };
  return { lines, phases, hooks };
}

async function run(executor: ProcessExecutor, s: BackendSpec, hooks: ExecutorHooks): Promise<RunningBackend> {
  const result = await executor.start(s, hooks);
  if (!result.ok) throw new Error(`start failed: ${JSON.stringify(result.error)}`);
  started.push(result.backend);
  return result.backend;
}

describe('ProcessExecutor', () => {
  process.env.JETPLANE_TEST_SETTING = 'drone-only';
  const executor = new ProcessExecutor({ host: '127.0.0.1' });
  delete process.env.JETPLANE_TEST_SETTING;

  it('passes PORT, session vars and the executable env (session vars win); output is line by line', async () => {
    const { lines, phases, hooks } = recorder();
    const s = spec([NODE, '-e', 'console.log(JSON.stringify(process.env)); console.error("oops")'], {
      executable: {
        command: [NODE, '-e', 'console.log(JSON.stringify(process.env)); console.error("oops")'],
        env: { USER_VAR: 'u', SESSION_BACKEND_ID: 'spoofed' },
      },
    });
    const backend = await run(executor, s, hooks);
    expect(await backend.exited).toEqual({ exitCode: 0, signal: null });
    await waitFor(() => lines.length >= 2);
    expect(phases).toEqual(['starting']);
    const stdout = lines.find(([stream]) => stream === 'stdout');
    const env = JSON.parse(stdout![1]) as Record<string, string>;
    expect(env.SESSION_BACKEND_ID).toBe('b1');
    expect(env.SESSION_BACKEND_KEY).toBe('k');
    expect(env.SESSION_BACKEND_FENCING_TOKEN).toBe('7');
    expect(env.USER_VAR).toBe('u');
    expect(env.JETPLANE_TEST_SETTING).toBeUndefined();
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.PORT).toBe(backend.address.split(':')[1]);
    expect(backend.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(lines).toContainEqual(['stderr', 'oops']);
  });

  it('gives each backend its own port from the pool, back to it when the backend is gone or never starts', async () => {
    const handedOut: number[] = [];
    const released: number[] = [];
    const pool = new PortPool({ range: { first: 22_000, last: 22_009 }, host: '127.0.0.1', start: 0, canBind: async () => true });
    const take = pool.take.bind(pool);
    pool.take = async () => {
      const port = await take();
      handedOut.push(port);
      return port;
    };
    const release = pool.release.bind(pool);
    pool.release = (port) => {
      released.push(port);
      release(port);
    };
    const pooled = new ProcessExecutor({ host: '127.0.0.1', ports: pool, guard: false });
    const sleeper = [NODE, '-e', 'setInterval(() => {}, 1000)'];
    const [a, b] = await Promise.all([run(pooled, spec(sleeper), recorder().hooks), run(pooled, spec(sleeper), recorder().hooks)]);
    expect(new Set([a.address, b.address]).size).toBe(2);
    expect(handedOut.map((p) => `127.0.0.1:${p}`).sort()).toEqual([a.address, b.address].sort());
    a.terminate('hard');
    await a.exited;
    expect(released).toEqual([Number(a.address.split(':')[1])]);
    expect((await pooled.start(spec(['/no/such/program']), recorder().hooks)).ok).toBe(false);
    expect(released).toHaveLength(2);
    expect(released[1]).toBe(handedOut[2]);
  });

  it('reports the exit code of a natural exit', async () => {
    const backend = await run(executor, spec([NODE, '-e', 'process.exit(3)']), recorder().hooks);
    expect(await backend.exited).toEqual({ exitCode: 3, signal: null });
  });

  it('soft terminate sends SIGTERM to the process', async () => {
    const { lines, hooks } = recorder();
    const code = 'process.on("SIGTERM", () => { console.log("bye"); process.exit(7) }); console.log("up"); setInterval(() => {}, 1000)';
    const backend = await run(executor, spec([NODE, '-e', code]), hooks);
    await waitFor(() => lines.some(([, l]) => l === 'up'));
    backend.terminate('soft');
    expect(await backend.exited).toEqual({ exitCode: 7, signal: null });
  });

  it('hard terminate kills the whole process group with SIGKILL', async () => {
    const { lines, hooks } = recorder();
    const code = [
      'process.on("SIGTERM", () => {});',
      'const c = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });',
      'console.log("child " + c.pid);',
      'setInterval(() => {}, 1000)',
    ].join('\n');
    const backend = await run(executor, spec([NODE, '-e', code]), hooks);
    await waitFor(() => lines.some(([, l]) => l.startsWith('child ')));
    const grandchild = Number(lines.find(([, l]) => l.startsWith('child '))![1].slice(6));
    backend.terminate('soft'); // ignored by the backend
    await new Promise((r) => setTimeout(r, 100));
    backend.terminate('hard');
    expect(await backend.exited).toEqual({ exitCode: null, signal: 'SIGKILL' });
    await waitFor(() => !alive(grandchild));
    expect(trackedGroups()).toEqual([]);
  });

  it('reports a command that does not exist as failed', async () => {
    const result = await executor.start(spec(['/nonexistent/program-xyz']), recorder().hooks);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe('failed');
      expect(result.error.kind === 'failed' && result.error.message).toContain('ENOENT');
    }
  });

  it('reports a missing working directory as failed', async () => {
    const result = await executor.start(spec([NODE], { executable: { command: [NODE], cwd: '/nonexistent/dir' } }), recorder().hooks);
    expect(result).toEqual({ ok: false, error: { kind: 'failed', message: 'working directory not found: /nonexistent/dir' } });
  });

  it('does not start a backend whose signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const result = await executor.start(spec([NODE, '-e', ''], { signal: ac.signal }), recorder().hooks);
    expect(result).toEqual({ ok: false, error: { kind: 'aborted' } });
  });
});

describe('backend environment', () => {
  it('inherits only a minimal set from the drone, never JETPLANE_*', () => {
    const env = inheritedEnv({ PATH: '/bin', HOME: '/h', LC_ALL: 'C', NODE_OPTIONS: '-x', JETPLANE_NATS: 'nats://x', SECRET: 's' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/h', LC_ALL: 'C', NODE_OPTIONS: '-x' });
  });

  it('layers inherited < executable env < session vars and PORT', () => {
    const env = backendEnv({
      inherited: { PATH: '/bin', PORT: '1' },
      executableEnv: { PATH: '/opt/bin', SESSION_BACKEND_KEY: 'spoof', PORT: '2' },
      sessionEnv: { SESSION_BACKEND_KEY: 'real' },
      port: 3,
    });
    expect(env).toEqual({ PATH: '/opt/bin', SESSION_BACKEND_KEY: 'real', PORT: '3' });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
