/**
 * The SSE status stream: replay a backend's KV history, then follow it live. Plane's rules: each
 * event carries `id: <status>`, only statuses strictly above the last one sent (or above a parsable
 * `Last-Event-ID`) are sent, so overlaps and reconnects never duplicate. Unlike Plane the stream
 * ends after `terminated` (decision Q8).
 */
import { isBackendStatus, statusRank, type BackendRecord, type BackendStatus, type StatusEntry } from '@jetplane/protocol';
import { decodeJson, type KvEntry } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { statusEntry } from './status.js';

/** Plane's (axum's) keep-alive cadence. */
export const SSE_KEEPALIVE_MS = 15_000;
export const SSE_KEEPALIVE = ': keep-alive\n\n';

export function formatSseEvent(entry: StatusEntry): string {
  return `id: ${entry.status}\ndata: ${JSON.stringify(entry)}\n\n`;
}

/** The status to resume after, or undefined (full replay) for a missing or unknown value. */
export function parseLastEventId(header: string | string[] | undefined): BackendStatus | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return isBackendStatus(value) ? value : undefined;
}

/** Passes a status only if it is strictly above every status passed (or skipped) before. */
export class StatusDeduper {
  private last: number;
  constructor(after?: BackendStatus) {
    this.last = after ? statusRank(after) : -Infinity;
  }
  accept(status: BackendStatus): boolean {
    const rank = statusRank(status);
    if (rank <= this.last) return false;
    this.last = rank;
    return true;
  }
}

export interface SseSink {
  write(chunk: string): void;
  end(): void;
  /** Registers a callback run once when the client goes away. */
  onClose(callback: () => void): void;
}

export interface StatusStreamOptions {
  watch: AsyncIterable<KvEntry> & { stop(): void };
  sink: SseSink;
  lastEventId?: BackendStatus;
  keepAliveMs?: number;
  log?: Logger;
}

/** Pump the watch into the sink until `terminated`, the record's deletion, or the client leaving. */
export async function streamStatus(opts: StatusStreamOptions): Promise<void> {
  const { watch, sink } = opts;
  const dedupe = new StatusDeduper(opts.lastEventId);
  let closed = false;
  const keepAlive = setInterval(() => sink.write(SSE_KEEPALIVE), opts.keepAliveMs ?? SSE_KEEPALIVE_MS);
  keepAlive.unref();
  sink.onClose(() => {
    closed = true;
    watch.stop();
  });
  try {
    for await (const entry of watch) {
      if (closed) break;
      if (entry.operation !== 'PUT') break; // the record was removed: nothing more will come
      let state: BackendRecord['state'];
      try {
        state = decodeJson<BackendRecord>(entry.value).state;
      } catch (err) {
        opts.log?.warn({ err, backend_id: entry.key }, 'skipping undecodable backend record');
        continue;
      }
      if (dedupe.accept(state.status)) sink.write(formatSseEvent(statusEntry(state)));
      if (state.status === 'terminated') break;
    }
  } finally {
    clearInterval(keepAlive);
    watch.stop();
    if (!closed) sink.end();
  }
}
