export {
  JetPlaneClient,
  isNewerStatus,
  parseStatusEntry,
  describeCause,
  type JetPlaneClientOptions,
  type ReconnectOptions,
  type StatusStreamOptions,
  type StatusStreamEvent,
  type HealthResult,
} from './client.js';
export { JetPlaneClientError, parseApiErrorBody, errorFromResponse, fromNatsReply } from './errors.js';
export { SseParser, SseDecoder, type SseEvent } from './sse.js';
export type { ControlApi } from './api.js';
