/**
 * Proxies only route tokens of their own `--cluster` (architecture Q16), and a backend with a
 * `subdomain` is reached at `<subdomain>.<cluster>` only (reference §3.1, §9.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDroneName } from '@jetplane/protocol';
import { freePort, httpRequest, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv } from '@jetplane/testing';

let jp: JetPlaneEnv;
let otherCluster: string;
let otherProxyPort: number;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
  // A second cluster on the same NATS: its own drone and proxy.
  otherProxyPort = await freePort();
  otherCluster = `localhost:${otherProxyPort}`;
  const droneName = newDroneName();
  await jp.startExtra('drone', ['--nats', jp.natsUrl, '--cluster', otherCluster, '--name', droneName, '--executor', 'process'], `drone ${droneName}`);
  await jp.startExtra('proxy', ['--nats', jp.natsUrl, '--cluster', otherCluster, '--host', '127.0.0.1', '--port', String(otherProxyPort)], 'proxy (other cluster)');
  await jp.waitForDrones([droneName]);
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

function viaOtherProxy(token: string, path: string) {
  return httpRequest(`http://127.0.0.1:${otherProxyPort}/${token}${path}`, { headers: { Host: otherCluster } });
}

describe('clusters', () => {
  it("each proxy routes its own cluster's tokens and answers 404 for another cluster's", async () => {
    const here = await jp.spawnReady({ key: { name: uniqueName('here') }, spawn_config: jp.spawnConfig() });
    const there = await jp.spawnReady({ key: { name: uniqueName('there') }, spawn_config: jp.spawnConfig({ cluster: otherCluster }) });
    expect(there.url).toBe(`http://${otherCluster}/${there.token}/`);

    expect((await jp.echo(here.token, '/a')).path).toBe('/a');
    const otherOk = await viaOtherProxy(there.token, '/b');
    expect(otherOk.status, otherOk.body).toBe(200);
    expect((JSON.parse(otherOk.body) as { path: string }).path).toBe('/b');

    expect((await jp.proxyRequest(there.token, '/x')).status).toBe(404);
    expect((await viaOtherProxy(here.token, '/x')).status).toBe(404);
  });
});

describe('subdomains', () => {
  it('a backend with a subdomain gets url <sub>.<cluster> and is routed for that Host only', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('sub') }, spawn_config: jp.spawnConfig({ subdomain: 'team1' }) });
    expect(c.subdomain).toBe('team1');
    expect(c.url).toBe(`http://team1.${jp.cluster}/${c.token}/`);

    const ok = await jp.proxyRequest(c.token, '/s', { headers: { Host: `team1.${jp.cluster}` } });
    expect(ok.status, ok.body).toBe(200);
    expect((JSON.parse(ok.body) as { path: string }).path).toBe('/s');

    for (const host of [jp.cluster, `team2.${jp.cluster}`]) {
      const refused = await jp.proxyRequest(c.token, '/s', { headers: { Host: host } });
      expect(refused.status, `Host ${host}: ${refused.body}`).toBeGreaterThanOrEqual(400);
      expect(refused.status).toBeLessThan(500);
    }
  });
});
