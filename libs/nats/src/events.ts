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

export class EventPublisher {
  constructor(private readonly js: JetStreamClient) {}

  /**
   * Publish with a message id so a retried publish is stored once. `msgId` should be derived from
   * what the event describes (e.g. backend id + status), not random.
   */
  async publish(event: JetPlaneEvent, msgId?: string): Promise<void> {
    await this.js.publish(eventSubject(event), encodeJson(event), msgId ? { msgID: msgId } : undefined);
  }
}
