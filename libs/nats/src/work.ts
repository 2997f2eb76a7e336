/** `JETPLANE_WORK`: a durable, at-least-once work queue per drone (spawn, terminate). */
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Streams, Subjects, workConsumerName, type DroneWork } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';

const PULL_EXPIRES_MS = 5_000;
/**
 * Messages delivered ahead of the handler. They are still handled one at a time in stream order; a
 * batch only saves the pull round trip per message, which a burst of spawns otherwise pays in full
 * (thousands queued for one drone would outlive their keys' leases waiting for their turn).
 */
const BATCH = 32;

export class WorkQueue {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  async send(drone: string, work: DroneWork, msgId?: string): Promise<void> {
    await this.js.publish(Subjects.work(drone), encodeJson(work), msgId ? { msgID: msgId } : undefined);
  }

  /**
   * Consume this drone's work, one message at a time, in order. The handler's promise settling
   * acks the message; a throw naks it for redelivery a second later, after the messages already
   * delivered behind it (handlers must not depend on a failed message being retried first).
   */
  async consume(
    drone: string,
    handler: (work: DroneWork, msg: JsMsg) => Promise<void>,
    opts: { ackWaitMs?: number } = {},
  ): Promise<{ stop(): void; done: Promise<void> }> {
    const name = workConsumerName(drone);
    const config = {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: Subjects.work(drone),
      ack_wait: (opts.ackWaitMs ?? 30_000) * 1e6,
      max_ack_pending: BATCH,
    };
    await this.jsm.consumers.add(Streams.work, config).catch(async () => {
      await this.jsm.consumers.update(Streams.work, name, { ack_wait: config.ack_wait, max_ack_pending: BATCH });
    });
    const consumer = await this.js.consumers.get(Streams.work, name);
    // Short pulls: after a JetStream leader change the next pull reaches the new leader within
    // seconds instead of waiting out the default 30 s request.
    const messages: ConsumerMessages = await consumer.consume({ max_messages: BATCH, expires: PULL_EXPIRES_MS });
    void (async () => {
      for await (const s of messages.status()) {
        // The server stopped answering this pull: end the iterator so the owner reopens the consumer.
        if (s.type === 'heartbeats_missed' && s.count >= 2) messages.stop();
      }
    })().catch(() => undefined);
    const done = (async () => {
      for await (const msg of messages) {
        let work: DroneWork;
        try {
          work = decodeJson<DroneWork>(msg.data);
        } catch {
          msg.term(); // undecodable: redelivering it would never help
          continue;
        }
        try {
          await handler(work, msg);
          msg.ack();
        } catch {
          msg.nak(1_000);
        }
      }
    })();
    return { stop: () => void messages.close(), done };
  }
}
