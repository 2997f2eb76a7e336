/**
 * Every flag also reads `JETPLANE_<FLAG>`: components configured only through the environment
 * work together, and exit 0 on SIGINT as on SIGTERM (contract §2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newDroneName } from '@jetplane/protocol';
import {
  echoExecutable,
  freePort,
  getJson,
  httpRequest,
  listOf,
  postJson,
  startComponent,
  startNatsServer,
  stopAllProcesses,
  uniqueName,
  waitFor,
  type NatsServer,
} from '@jetplane/testing';

let nats: NatsServer | undefined;
/** TMPDIR of the components (drone state), removed afterwards. */
const tmpDir = mkdtempSync(join(tmpdir(), 'jetplane-envcfg-'));

afterAll(async () => {
  await stopAllProcesses();
  await nats?.stop();
  rmSync(tmpDir, { recursive: true, force: true });
});

describe('configuration from JETPLANE_* variables', () => {
  it('controller, drone and proxy started without flags route a backend; SIGINT stops each with exit 0', async () => {
    nats = await startNatsServer({ jetstream: true });
    const [controllerPort, proxyPort, droneHealthPort, proxyHealthPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const cluster = `localhost:${proxyPort}`;
    const droneName = newDroneName();

    const controller = await startComponent('controller', [], {
      JETPLANE_NATS: nats.url,
      JETPLANE_HOST: '127.0.0.1',
      JETPLANE_PORT: String(controllerPort),
      JETPLANE_DEFAULT_CLUSTER: cluster,
    });
    const drone = await startComponent('drone', [], {
      JETPLANE_NATS: nats.url,
      JETPLANE_CLUSTER: cluster,
      JETPLANE_NAME: droneName,
      JETPLANE_EXECUTOR: 'process',
      JETPLANE_HEALTH_PORT: String(droneHealthPort),
      TMPDIR: tmpDir,
    });
    const proxy = await startComponent('proxy', [], {
      JETPLANE_NATS: nats.url,
      JETPLANE_CLUSTER: cluster,
      JETPLANE_HOST: '127.0.0.1',
      JETPLANE_PORT: String(proxyPort),
      JETPLANE_HEALTH_PORT: String(proxyHealthPort),
    });
    const controllerUrl = `http://127.0.0.1:${controllerPort}`;
    expect((await httpRequest(`${controllerUrl}/healthz`)).status).toBe(200);
    expect((await httpRequest(`http://127.0.0.1:${droneHealthPort}/healthz`)).status).toBe(200);
    expect((await httpRequest(`http://127.0.0.1:${proxyHealthPort}/healthz`)).status).toBe(200);

    await waitFor(
      async () => listOf<{ name: string }>((await getJson(`${controllerUrl}/ctrl/drones`)).body).some((d) => d.name === droneName) || undefined,
      { timeoutMs: 15_000, description: `drone ${droneName} (named by JETPLANE_NAME) listed` },
    );
    // No cluster in the request: JETPLANE_DEFAULT_CLUSTER applies.
    const res = await postJson<{ backend_id: string; token: string; url: string; drone: string }>(`${controllerUrl}/ctrl/connect`, {
      key: { name: uniqueName('envcfg') },
      spawn_config: { executable: echoExecutable() },
      user: 'env-user',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.url).toBe(`http://${cluster}/${res.body.token}/`);
    expect(res.body.drone).toBe(droneName);
    const routed = await httpRequest(`http://127.0.0.1:${proxyPort}/${res.body.token}/env`, { headers: { Host: cluster }, timeoutMs: 30_000 });
    expect(routed.status, routed.body).toBe(200);
    expect((JSON.parse(routed.body) as { headers: Record<string, string> }).headers['x-verified-username']).toBe('env-user');

    for (const p of [proxy, drone, controller]) {
      expect(await p.stop(15_000, 'SIGINT'), `${p.name}\n${p.output(20)}`).toEqual({ code: 0, signal: null });
    }
  });
});
