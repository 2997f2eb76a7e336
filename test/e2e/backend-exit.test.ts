/**
 * A backend that exits on its own ends `terminated` with its exit code (reason `exit`), and its key
 * is free again: the next connect spawns a new backend with a higher fencing token (architecture:
 * Drone flow; reference §4 fencing tokens).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendListing } from '@jetplane/protocol';
import { getJson, listOf, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

/** Ask the echo backend to exit; the reply may or may not make it out before the process ends. */
async function askToExit(token: string, code: number): Promise<void> {
  await jp.proxyRequest(token, `/exit/${code}`).catch(() => undefined);
}

describe('backend exit', () => {
  it('exit code 3 → terminated with exit_code 3 (exit_error, reason exit); the key is free and the next connect spawns anew with a higher fencing token', async () => {
    const key = uniqueName('exit');
    const first = await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig() });
    const firstEnv = (await jp.echo(first.token, '/')).env;

    await askToExit(first.token, 3);
    const st = await jp.waitForStatus(first.backend_id, 'terminated', 15_000);
    expect(st.exit_error).toBe(true);
    expect(st.termination_reason).toBe('exit');
    if (st.exit_code !== undefined) expect(st.exit_code).toBe(3);

    // The exit code is kept in JetStream and shown by the listing.
    const record = (await (await jp.inspector()).backendRecords()).find((r) => r.id === first.backend_id);
    expect(record?.state.status).toBe('terminated');
    expect(record?.state.exit_code).toBe(3);
    const listing = listOf<BackendListing>((await getJson(`${jp.controllerUrl}/ctrl/backends`)).body);
    expect(listing.find((b) => b.id === first.backend_id)?.exit_code).toBe(3);

    // Its token is dead.
    await jp.waitForTokenRefused(first.token);

    const second = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() });
    expect(second.spawned).toBe(true);
    expect(second.backend_id).not.toBe(first.backend_id);
    await jp.waitForStatus(second.backend_id, 'ready');
    const secondEnv = (await jp.echo(second.token, '/')).env;
    expect(secondEnv.SESSION_BACKEND_ID).toBe(second.backend_id);
    expect(secondEnv.SESSION_BACKEND_KEY).toBe(key);
    expect(Number(secondEnv.SESSION_BACKEND_FENCING_TOKEN)).toBeGreaterThan(Number(firstEnv.SESSION_BACKEND_FENCING_TOKEN));
  });

  it('exit code 0 → terminated without exit_error', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('exit0') }, spawn_config: jp.spawnConfig() });
    await askToExit(c.token, 0);
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 15_000);
    expect(st.exit_error).toBe(false);
    expect(st.termination_reason).toBe('exit');
  });

  it('a command that cannot start ends terminated (reason failed) and frees the key', async () => {
    const key = uniqueName('broken');
    const c = await jp.connectOk({
      key: { name: key },
      spawn_config: jp.spawnConfig({ executable: { command: ['/nonexistent/jetplane-e2e-no-such-binary'] } }),
    });
    const st = await jp.waitForStatus(c.backend_id, 'terminated', 15_000);
    expect(st.termination_reason).toBe('failed');
    const again = await jp.connectOk({ key: { name: key }, spawn_config: jp.spawnConfig() });
    expect(again.spawned).toBe(true);
    expect(again.backend_id).not.toBe(c.backend_id);
  });
});
