/**
 * Lifecycle events on `JETPLANE_EVENTS`: the expected events exist with `type`, `cluster`, `time`
 * and ids, and none carries a token, a secret or auth data; component logs do not either
 * (contract §6; architecture: events use 8-char token fingerprints).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, hashToken } from '@jetplane/nats';
import { randomString, Subjects, type ConnectResponse } from '@jetplane/protocol';
import { isBackendOutput, startJetPlane, stopAllProcesses, uniqueName, type JetPlaneEnv, type StoredEvent } from '@jetplane/testing';

let jp: JetPlaneEnv;
const startedAt = Date.now();
/** Every credential and auth value this file hands out; none may appear in an event or a log line. */
const secrets: string[] = [];
const authMarker = `auth-marker-${randomString(16)}`;
const authMarker2 = `auth-marker-${randomString(16)}`;
const responses: ConnectResponse[] = [];
let events: StoredEvent[] = [];

function remember(c: ConnectResponse): ConnectResponse {
  responses.push(c);
  secrets.push(c.token);
  if (c.token.startsWith('s.')) secrets.push(c.token.slice(2));
  if (c.secret_token) secrets.push(c.secret_token);
  return c;
}

beforeAll(async () => {
  jp = await startJetPlane({ drones: 1 });
  const key = uniqueName('events');
  // Two tokens for one backend, a static-token backend, and a connect over NATS.
  const a = remember(await jp.spawnReady({ key: { name: key }, spawn_config: jp.spawnConfig(), user: 'alice', auth: { marker: authMarker } }));
  remember(await jp.connectOk({ key: { name: key }, user: 'bob', auth: { marker: authMarker2, nested: { deep: authMarker2 } } }));
  const s = remember(await jp.spawnReady({ key: { name: uniqueName('events-static') }, spawn_config: jp.spawnConfig({ use_static_token: true }) }));
  const nats = await connectNats({ servers: [jp.natsUrl], name: 'jetplane-e2e-events' });
  try {
    const reply = await nats.nc.request(
      Subjects.connect,
      JSON.stringify({ key: { name: uniqueName('events-nats') }, spawn_config: jp.spawnConfig(), auth: { marker: authMarker } }),
      { timeout: 10_000 },
    );
    remember(JSON.parse(reply.string()) as ConnectResponse);
  } finally {
    await nats.close();
  }
  for (const c of responses.filter((r) => r.backend_id === a.backend_id || r.backend_id === s.backend_id)) await jp.echo(c.token, '/traffic');
  expect((await jp.terminate(a.backend_id, 'soft')).status).toBe(200);
  expect((await jp.terminate(s.backend_id, 'hard')).status).toBe(200);
  await jp.waitForStatus(a.backend_id, 'terminated', 40_000);
  await jp.waitForStatus(s.backend_id, 'terminated', 20_000);

  const inspector = await jp.inspector();
  // Revocations are published after `terminated`: read until they are all there.
  events = await inspector.waitForEvents(
    (list) =>
      [a.backend_id, s.backend_id].every((id) =>
        list.some((e) => e.event.type === 'token.revoked' && 'backend_id' in e.event && e.event.backend_id === id),
      ),
    15_000,
    'token.revoked events of both terminated backends',
  );
}, 120_000);

afterAll(async () => {
  await jp?.teardown();
  await stopAllProcesses();
});

describe('lifecycle events', () => {
  it('no event carries a token, a secret or an auth value', () => {
    expect(events.length).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThanOrEqual(7);
    for (const e of events) {
      for (const value of [...secrets, authMarker, authMarker2]) {
        expect(e.data.includes(value), `event ${e.subject} #${e.seq} leaks ${value.slice(0, 6)}…: ${e.data.slice(0, 300)}`).toBe(false);
      }
      expect(JSON.stringify(e.event)).not.toMatch(/"(auth|secret_token|token|static_token)"\s*:/);
    }
  });

  it('every event has type, cluster and time; backend.status, token.issued and token.revoked events exist', () => {
    for (const e of events) {
      expect(typeof e.event.type, e.data).toBe('string');
      expect(e.event.cluster, e.data).toBe(jp.cluster);
      expect(typeof e.event.time, e.data).toBe('number');
      expect(e.event.time).toBeGreaterThanOrEqual(startedAt - 60_000);
      expect(e.event.time).toBeLessThanOrEqual(Date.now() + 60_000);
    }
    const types = new Set(events.map((e) => e.event.type));
    for (const t of ['backend.status', 'token.issued', 'token.revoked', 'drone.up']) expect(types, [...types].join(',')).toContain(t);
  });

  it('backend.status events cover the backend\'s whole life, one per status, on jetplane.events.backend.<id>.status', () => {
    const id = responses[0]!.backend_id;
    const mine = events.filter((e) => e.event.type === 'backend.status' && e.event.backend_id === id);
    for (const e of mine) expect(e.subject).toBe(Subjects.backendStatusEvent(id));
    // The controller's `scheduled` event races the drone's `loading` onto the stream (they are published
    // by different processes), so the order is checked by event time, not by stream sequence.
    const byTime = [...mine].sort((a, b) => a.event.time - b.event.time || a.seq - b.seq);
    const statuses = byTime.map((e) => (e.event.type === 'backend.status' ? e.event.status : ''));
    expect(statuses).toEqual(['scheduled', 'loading', 'starting', 'waiting', 'ready', 'terminating', 'terminated']);
    const last = byTime.at(-1)!.event;
    expect(last.type === 'backend.status' && last.drone).toBe(jp.drones[0]!.name);
  });

  it('token events carry the 8-char fingerprint of the token hash, one issued and one revoked per token', () => {
    const first = responses[0]!;
    const tokens = responses.filter((r) => r.backend_id === first.backend_id).map((r) => r.token);
    expect(tokens).toHaveLength(2);
    for (const token of tokens) {
      const fp = hashToken(token).slice(0, 8);
      for (const what of ['token.issued', 'token.revoked'] as const) {
        const matching = events.filter((e) => e.event.type === what && 'fingerprint' in e.event && e.event.fingerprint === fp);
        expect(matching, `${what} for fingerprint ${fp}`).toHaveLength(1);
        expect(matching[0]!.subject).toBe(Subjects.tokenEvent(first.backend_id, what === 'token.issued' ? 'issued' : 'revoked'));
      }
    }
  });

  it('component logs do not carry tokens, secrets or auth values either', () => {
    const procs = [jp.controller, jp.proxy, ...jp.drones.map((d) => d.proc)];
    for (const p of procs) {
      // Backend output lines are the backend's own business.
      for (const line of p.lines.filter((l) => !isBackendOutput(l))) {
        for (const value of [...secrets, authMarker, authMarker2]) {
          expect(line.raw.includes(value), `${p.name} log leaks ${value.slice(0, 6)}…: ${line.raw.slice(0, 300)}`).toBe(false);
        }
      }
    }
  });
});
