/** Looking straight into JetStream from a test: KV records and the event stream, via @jetplane/nats. */
import { openJetPlane, hashToken, decodeJson, type JetPlane } from '@jetplane/nats';
import { Streams, Subjects, TokenKeys, type BackendRecord, type JetPlaneEvent } from '@jetplane/protocol';
import { waitFor } from './wait.js';

/** One stored event with where it was published. */
export interface StoredEvent {
  seq: number;
  subject: string;
  /** The raw JSON text, to search for leaked values. */
  data: string;
  event: JetPlaneEvent;
}

export interface Inspector {
  jp: JetPlane;
  /** Whether `jetplane_tokens` still has the route record `r.<sha256(token)>`. */
  tokenRecordExists(token: string): Promise<boolean>;
  /** Every backend record in `jetplane_backends` (latest value of each key). */
  backendRecords(): Promise<BackendRecord[]>;
  /** Every event stored on `JETPLANE_EVENTS`, oldest first. */
  readAllEvents(timeoutMs?: number): Promise<StoredEvent[]>;
  /** Re-read the events until `predicate` holds for the whole list (bounded). */
  waitForEvents(predicate: (events: StoredEvent[]) => boolean, timeoutMs?: number, description?: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/**
 * Connect to NATS and open JetPlane's buckets and streams (created by the components; opening is
 * idempotent with one replica).
 */
export async function openInspector(natsUrl: string, replicas = 1): Promise<Inspector> {
  const jp = await openJetPlane({ servers: natsUrl.split(','), name: 'jetplane-e2e-inspector', replicas });
  const inspector: Inspector = {
    jp,
    async tokenRecordExists(token) {
      const entry = await jp.streams.tokens.get(TokenKeys.route(hashToken(token)));
      return entry !== null && entry.operation === 'PUT';
    },
    async backendRecords() {
      const out: BackendRecord[] = [];
      const keys: string[] = [];
      for await (const key of await jp.streams.backends.keys()) keys.push(key);
      for (const key of keys) {
        const entry = await jp.streams.backends.get(key);
        if (entry && entry.operation === 'PUT') out.push(decodeJson<BackendRecord>(entry.value));
      }
      return out;
    },
    async readAllEvents(timeoutMs = 10_000) {
      const info = await jp.streams.jsm.streams.info(Streams.events);
      const last = info.state.last_seq;
      if (info.state.messages === 0) return [];
      // A string filter (not an array) so servers older than 2.10 accept it.
      const consumer = await jp.streams.js.consumers.get(Streams.events, { filter_subjects: Subjects.eventsAll });
      const out: StoredEvent[] = [];
      const deadline = Date.now() + timeoutMs;
      let done = false;
      try {
        // Bounded by the deadline; each fetch waits at most 1 s.
        while (!done && Date.now() < deadline) {
          const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
          for await (const m of batch) {
            const data = m.string();
            out.push({ seq: m.seq, subject: m.subject, data, event: JSON.parse(data) as JetPlaneEvent });
            if (m.seq >= last) {
              done = true;
              break;
            }
          }
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
      if (!done) throw new Error(`read ${out.length} events but not up to stream sequence ${last} within ${timeoutMs} ms`);
      return out;
    },
    async waitForEvents(predicate, timeoutMs = 15_000, description = 'events') {
      return waitFor(
        async () => {
          const events = await inspector.readAllEvents();
          return predicate(events) ? events : undefined;
        },
        { timeoutMs, intervalMs: 250, description },
      );
    },
    close: () => jp.close(),
  };
  return inspector;
}
