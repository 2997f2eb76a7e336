/**
 * A token works at the proxy as soon as the connect answer is out: requests for a backend that is
 * not ready yet are held until it is, and answered 502/503 (short body, no backend details) when it
 * does not become ready in time (contract §5; architecture Q1).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

const SLOW_BACKEND = join(REPO_ROOT, 'test', 'fixtures', 'slow-backend.mjs');
const WAIT_FOR_READY_SECONDS = 3;

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1, proxyArgs: ['--wait-for-ready-seconds', String(WAIT_FOR_READY_SECONDS)] });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

function slowExecutable(delay: string): Record<string, unknown> {
  return { command: [process.execPath, SLOW_BACKEND], env: { SLOW_START_MS: delay } };
}

describe('proxy and backends that are not ready yet', () => {
  it('holds a request made right after connect until the backend is ready, then forwards it', async () => {
    const c = await jp.connectOk({ key: { name: uniqueName('early') }, spawn_config: jp.spawnConfig({ executable: slowExecutable('1500') }) });
    const sentAt = Date.now();
    const res = await jp.proxyRequest(c.token, '/early?x=1', { timeoutMs: 20_000 });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ path: '/early?x=1', slow: true });
    // It was answered only once the backend listened (1.5 s after it started).
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_000);
    expect((await jp.status(c.backend_id)).body.status).toBe('ready');
  });

  it('the echo backend answers the very first request sent right after connect', async () => {
    const c = await jp.connectOk({ key: { name: uniqueName('first') }, spawn_config: jp.spawnConfig() });
    const res = await jp.proxyRequest(c.token, '/first', { timeoutMs: 20_000 });
    expect(res.status, res.body).toBe(200);
    expect((JSON.parse(res.body) as { path: string }).path).toBe('/first');
  });

  it(`answers 502/503 with a short body when the backend is not ready within --wait-for-ready-seconds ${WAIT_FOR_READY_SECONDS}`, async () => {
    const c = await jp.connectOk({ key: { name: uniqueName('never') }, spawn_config: jp.spawnConfig({ executable: slowExecutable('never') }) });
    const sentAt = Date.now();
    const res = await jp.proxyRequest(c.token, '/never', { timeoutMs: 20_000 });
    const waited = Date.now() - sentAt;
    expect([502, 503], res.body).toContain(res.status);
    expect(waited).toBeGreaterThanOrEqual(WAIT_FOR_READY_SECONDS * 1000 - 500);
    expect(waited).toBeLessThan(WAIT_FOR_READY_SECONDS * 1000 + 5_000);
    expect(res.body.length).toBeLessThan(300);
    expect(res.body).not.toContain('127.0.0.1');
    expect(['scheduled', 'loading', 'starting', 'waiting']).toContain((await jp.status(c.backend_id)).body.status);
  });
});
