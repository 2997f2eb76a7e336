/**
 * The `jetplane` client commands against a live environment, over HTTP (`--controller`) and over
 * NATS (`--nats`), with `--json` output (contract §2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendListing, ConnectResponse, DroneListing } from '@jetplane/protocol';
import { ECHO_SERVER_PATH, listOf, runCli, spawnCli, startJetPlane, stopAllProcesses, uniqueName, type CliResult, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

/**
 * The JSON a `--json` command printed: the whole stdout when it is one document, else the first
 * JSON line matching `pick` (commands that follow progress print JSON lines).
 */
function jsonOut<T>(res: CliResult, pick: (value: Record<string, unknown>) => boolean = () => true): T {
  try {
    return JSON.parse(res.stdout) as T;
  } catch {
    for (const line of res.stdout.split('\n')) {
      try {
        const value = JSON.parse(line) as Record<string, unknown>;
        if (value && typeof value === 'object' && pick(value)) return value as T;
      } catch {
        // not a JSON line
      }
    }
    throw new Error(`no matching JSON in stdout (exit ${res.code}):\n${res.stdout}\n${res.stderr}`);
  }
}

const isConnectResponse = (v: Record<string, unknown>): boolean => typeof v.token === 'string';

const ctl = (): string[] => ['--controller', jp.controllerUrl];

describe('jetplane client commands', () => {
  it('connect (HTTP) spawns, waits for ready and prints the connect response; connect (NATS) reuses the key', async () => {
    const key = uniqueName('cli');
    const res = await runCli(
      ['connect', ...ctl(), '--key', key, '--user', 'cli-user', '--auth', '{"role":"cli"}', '--json', '--command', process.execPath, ECHO_SERVER_PATH],
      { timeoutMs: 30_000 },
    );
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const c = jsonOut<ConnectResponse>(res, isConnectResponse);
    // Then it follows the backend to ready.
    expect(jsonOut<{ status: string }>(res, (v) => v.status === 'ready' && v.backend_id === c.backend_id).status).toBe('ready');
    expect(c.spawned).toBe(true);
    expect(c.url).toBe(`http://${jp.cluster}/${c.token}/`);
    expect((await jp.status(c.backend_id)).body.status).toBe('ready');
    const reply = await jp.echo(c.token, '/cli');
    expect(reply.headers['x-verified-username']).toBe('cli-user');
    expect(JSON.parse(String(reply.headers['x-verified-user-data']))).toEqual({ role: 'cli' });

    const viaNats = await runCli(['connect', '--nats', jp.natsUrl, '--key', key, '--json'], { timeoutMs: 30_000 });
    expect(viaNats.code, viaNats.stderr + viaNats.stdout).toBe(0);
    const again = jsonOut<ConnectResponse>(viaNats, isConnectResponse);
    expect(again.backend_id).toBe(c.backend_id);
    expect(again.spawned).toBe(false);
  });

  it('connect to a free key without a program fails with a non-zero exit naming KeyUnheldNoSpawnConfig', async () => {
    const res = await runCli(['connect', ...ctl(), '--key', uniqueName('nokey'), '--json']);
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('KeyUnheldNoSpawnConfig');
  });

  it('status, backends and drones print JSON; terminate ends the backend', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('cli-status') }, spawn_config: jp.spawnConfig() });

    const status = await runCli(['status', c.backend_id, ...ctl(), '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(jsonOut<{ status: string }>(status, (v) => typeof v.status === 'string').status).toBe('ready');

    const backends = await runCli(['backends', ...ctl(), '--json']);
    expect(backends.code, backends.stderr).toBe(0);
    expect(listOf<BackendListing>(jsonOut(backends)).some((b) => b.id === c.backend_id)).toBe(true);

    const drones = await runCli(['drones', '--nats', jp.natsUrl, '--json']);
    expect(drones.code, drones.stderr).toBe(0);
    expect(listOf<DroneListing>(jsonOut(drones)).map((d) => d.name)).toContain(jp.drones[0]!.name);

    const term = await runCli(['terminate', c.backend_id, ...ctl(), '--hard', '--json'], { timeoutMs: 30_000 });
    expect(term.code, term.stderr + term.stdout).toBe(0);
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 10_000);
    expect(st.termination_kind).toBe('hard');
  });

  it('events --all --json --backend <id> replays and follows one backend, and exits 0 on SIGINT', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('cli-events') }, spawn_config: jp.spawnConfig() });
    const tail = spawnCli('jetplane events', ['events', '--nats', jp.natsUrl, '--all', '--json', '--backend', c.backend_id]);
    const isStatus = (status: string) => (l: { json: Record<string, unknown> | undefined }) =>
      l.json?.type === 'backend.status' && l.json.backend_id === c.backend_id && l.json.status === status;
    await tail.waitForLog(isStatus('ready'), 15_000, 'the replayed ready event');
    expect((await jp.terminate(c.backend_id, 'soft')).status).toBe(200);
    await tail.waitForLog(isStatus('terminated'), 40_000, 'the live terminated event');
    // Only this backend's events, and never a token.
    for (const l of tail.lines.filter((x) => x.json)) {
      expect(l.json!.backend_id ?? c.backend_id).toBe(c.backend_id);
      expect(l.raw).not.toContain(c.token);
    }
    tail.kill('SIGINT');
    expect(await tail.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  });
});
