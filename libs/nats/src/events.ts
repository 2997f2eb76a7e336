/** Publishing lifecycle events on `JETPLANE_EVENTS`. */
import type { JetStreamClient } from '@nats-io/jetstream';
import { Subjects, type JetPlaneEvent } from '@jetplane/protocol';
import { encodeJson } from './codec.js';

export function eventSubject(event: JetPlaneEvent): string {
  switch (event.type) {
    case 'backend.status':
      return Subjects.backendStatusEvent(event.backend_id);
    case 'token.issued':
      return Subjects.tokenEvent(event.backend_id, 'issued');
    case 'token.revoked':
      return Subjects.tokenEvent(event.backend_id, 'revoked');
    default:
      return Subjects.droneEvent(event.drone, event.type.slice('drone.'.length));
  }
}

const ANNOUNCE_ATTEMPTS = 8;
const ANNOUNCE_FIRST_DELAY_MS = 250;

export class EventPublisher {
  constructor(private readonly js: JetStreamClient) {}

  /**
   * Publish without waiting, retrying (bounded, about 30 s) through a JetStream leader election so
   * the event is not lost; `msgId` makes the retries store it once. Publishes issued one after the
   * other on this connection reach the stream in that order. `onGiveUp` hears the last error.
   */
  announce(event: JetPlaneEvent, msgId: string, onGiveUp?: (err: unknown) => void): void {
    const attempt = (n: number, delay: number): void => {
      this.publish(event, msgId).catch((err: unknown) => {
        if (n + 1 >= ANNOUNCE_ATTEMPTS) return onGiveUp?.(err);
        setTimeout(() => attempt(n + 1, delay * 2), delay).unref();
      });
    };
    attempt(0, ANNOUNCE_FIRST_DELAY_MS);
  }

  /**
   * Publish with a message id so a retried publish is stored once. `msgId` should be derived from
   * what the event describes (e.g. backend id + status), not random.
   */
  async publish(event: JetPlaneEvent, msgId?: string): Promise<void> {
    await this.js.publish(eventSubject(event), encodeJson(event), msgId ? { msgID: msgId } : undefined);
  }
}
