/**
 * `JETPLANE_STATS`: the latest CPU/memory sample of each backend (one message kept per subject).
 * Drones publish without acks (a lost sample is replaced by the next one); readers start from the
 * last sample of every backend and then follow.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, Subjects, type BackendStats } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';

/** Retention of `JETPLANE_STATS`. */
export const STATS_RETENTION = Object.freeze({ maxMsgsPerSubject: 1, maxAgeMs: 60 * 60 * 1000 });

export function publishBackendStats(nc: NatsConnection, stats: BackendStats): void {
  nc.publish(Subjects.backendStats(stats.backend_id), encodeJson(stats));
}

/**
 * Deliver the stored sample of every backend, then each new one, to `onStats` until `stop()`.
 * The ordered consumer recreates itself after NATS outages, so this never needs restarting.
 */
export async function followBackendStats(js: JetStreamClient, onStats: (stats: BackendStats) => void): Promise<{ stop(): void }> {
  const consumer = await js.consumers.get(Streams.stats, {
    filter_subjects: Subjects.statsAll,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  const messages = await consumer.consume();
  void (async () => {
    for await (const msg of messages) {
      try {
        onStats(decodeJson<BackendStats>(msg.data));
      } catch {
        // An undecodable sample is dropped; the next one replaces it anyway.
      }
    }
  })();
  return { stop: () => void messages.stop() };
}
