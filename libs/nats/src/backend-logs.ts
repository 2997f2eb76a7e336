/**
 * `JETPLANE_LOGS`: backend output lines. Drones publish them with plain NATS publishes (no ack per
 * line: a chatty backend must not be slowed down by round trips; a line lost in a NATS outage is
 * acceptable for logs). Readers replay a backend's subject with an ordered consumer.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, Subjects, type BackendLogEntry, type BackendLogLine } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';

/** Retention of `JETPLANE_LOGS` (applied when the stream is created or updated). */
export const LOG_RETENTION = Object.freeze({
  /** Lines kept per backend: the newest win. */
  maxMsgsPerSubject: 10_000,
  maxAgeMs: 24 * 60 * 60 * 1000,
  /** Whole stream, so many chatty backends cannot fill the disk. */
  maxBytes: 1024 * 1024 * 1024,
  /** Drones cut lines at 16 Ki characters; this leaves room for multi-byte UTF-8 and JSON escapes. */
  maxMsgSize: 256 * 1024,
});

export function publishLogLine(nc: NatsConnection, line: BackendLogLine): void {
  nc.publish(Subjects.backendLogs(line.backend_id), encodeJson(line));
}

export interface LogCursor extends AsyncIterable<BackendLogEntry> {
  stop(): void;
}

export class BackendLogReader {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Sequence of the newest stored line of a backend, 0 when it has none. */
  async lastSeq(backendId: string): Promise<number> {
    try {
      const msg = await this.jsm.streams.getMessage(Streams.logs, { last_by_subj: Subjects.backendLogs(backendId) });
      return msg?.seq ?? 0;
    } catch (err) {
      if (/no message found|not found/i.test((err as Error).message ?? '')) return 0;
      throw err;
    }
  }

  /**
   * The stored lines of a backend after sequence `afterSeq` (0: from the oldest kept), then live
   * ones as they arrive, until `stop()`. Undecodable messages are skipped.
   */
  async open(backendId: string, afterSeq = 0): Promise<LogCursor> {
    const consumer = await this.js.consumers.get(Streams.logs, {
      // A single string: nats-server 2.9 knows only `filter_subject`.
      filter_subjects: Subjects.backendLogs(backendId),
      ...(afterSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
    });
    const messages = await consumer.consume();
    return {
      stop: () => void messages.stop(),
      async *[Symbol.asyncIterator]() {
        for await (const msg of messages) {
          let line: BackendLogLine;
          try {
            line = decodeJson<BackendLogLine>(msg.data);
          } catch {
            continue;
          }
          yield { ...line, seq: msg.info.streamSequence };
        }
      },
    };
  }
}
