/**
 * Status API and the SSE status stream: full replay in order with `id: <status>`, resume after
 * `Last-Event-ID` without duplicates, 404 for unknown backends, end of stream after `terminated`
 * (contract §3; reference §6; architecture Q8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, openSse, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv, type SseEvent } from '@jetplane/testing';

let jp: JetPlaneEnv;

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
});

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

interface Entry {
  status: string;
  time: number;
  termination_kind?: string;
  termination_reason?: string;
}

const parse = (e: SseEvent): Entry => JSON.parse(e.data) as Entry;
const STARTUP = ['scheduled', 'loading', 'starting', 'waiting', 'ready'];

function streamUrl(backendId: string, form: 'short' | 'cluster' = 'short'): string {
  return form === 'short'
    ? `${jp.controllerUrl}/pub/b/${backendId}/status-stream`
    : `${jp.controllerUrl}/pub/c/${encodeURIComponent(jp.cluster)}/b/${backendId}/status-stream`;
}

describe('status stream', () => {
  it('replays every status from the start, in order, each with id: <status> and a time', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('sse') }, spawn_config: jp.spawnConfig() });
    for (const form of ['short', 'cluster'] as const) {
      const sse = await openSse(streamUrl(c.backend_id, form));
      try {
        expect(sse.status).toBe(200);
        await sse.waitFor((e) => parse(e).status === 'ready');
        const entries = sse.events.map(parse);
        expect(entries.map((e) => e.status)).toEqual(STARTUP);
        expect(sse.events.map((e) => e.id)).toEqual(STARTUP);
        for (const e of entries) expect(typeof e.time).toBe('number');
        const times = entries.map((e) => e.time);
        expect([...times].sort((a, b) => a - b)).toEqual(times);
      } finally {
        sse.close();
      }
    }
  });

  it('resumes after Last-Event-ID: starting with only the later statuses, no duplicates', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('resume') }, spawn_config: jp.spawnConfig() });
    const sse = await openSse(streamUrl(c.backend_id), { headers: { 'Last-Event-ID': 'starting' } });
    try {
      expect(sse.status).toBe(200);
      await sse.waitFor((e) => parse(e).status === 'ready');
      expect(sse.events.map((e) => e.id)).toEqual(['waiting', 'ready']);
    } finally {
      sse.close();
    }
  });

  it('GET status answers the current status with a time, in both path forms', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('status') }, spawn_config: jp.spawnConfig() });
    for (const url of [
      `${jp.controllerUrl}/pub/b/${c.backend_id}/status`,
      `${jp.controllerUrl}/pub/c/${encodeURIComponent(jp.cluster)}/b/${c.backend_id}/status`,
    ]) {
      const res = await getJson<Entry & { address?: unknown }>(url);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ready');
      expect(typeof res.body.time).toBe('number');
      // The backend address is never public.
      expect(res.body.address).toBeUndefined();
    }
  });

  it('unknown backend → 404 {id, kind: NotFound, message} for the status and the stream', async () => {
    const unknown = uniqueName('nope');
    for (const url of [`${jp.controllerUrl}/pub/b/${unknown}/status`, `${jp.controllerUrl}/pub/c/${encodeURIComponent(jp.cluster)}/b/${unknown}/status`]) {
      const res = await getJson<{ id: string; kind: string; message: string }>(url);
      expect(res.status).toBe(404);
      expect(res.body.kind).toBe('NotFound');
      expect(typeof res.body.id).toBe('string');
      expect(typeof res.body.message).toBe('string');
    }
    const sse = await openSse(streamUrl(unknown));
    await sse.waitForEnd(5_000);
    expect(sse.status).toBe(404);
    const body = JSON.parse(sse.body) as { id: string; kind: string; message: string };
    expect(body.kind).toBe('NotFound');
    expect(typeof body.id).toBe('string');
    expect(typeof body.message).toBe('string');
  });

  it('follows live changes through terminating to terminated, then ends the stream', async () => {
    const c = await jp.spawnReady({ key: { name: uniqueName('live') }, spawn_config: jp.spawnConfig() });
    const sse = await openSse(streamUrl(c.backend_id), { headers: { 'Last-Event-ID': 'ready' } });
    try {
      expect(sse.status).toBe(200);
      const res = await jp.terminate(c.backend_id, 'soft');
      expect(res.status, res.body).toBe(200);
      const terminated = parse(await sse.waitFor((e) => parse(e).status === 'terminated', 40_000));
      expect(terminated.termination_kind).toBe('soft');
      expect(terminated.termination_reason).toBe('external');
      expect(sse.events.map((e) => e.id)).toEqual(['terminating', 'terminated']);
      await sse.waitForEnd(10_000);
    } finally {
      sse.close();
    }

    // A stream opened after the end replays the whole history and ends at once.
    const replay = await openSse(streamUrl(c.backend_id));
    try {
      await replay.waitForEnd(10_000);
      expect(replay.events.map((e) => e.id)).toEqual([...STARTUP, 'terminating', 'terminated']);
    } finally {
      replay.close();
    }
  });
});
