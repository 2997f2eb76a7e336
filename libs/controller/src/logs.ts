/**
 * `GET /ctrl/c/:cluster/b/:backend/logs` and `/ctrl/b/:backend/logs`: a backend's stdout/stderr lines
 * from `JETPLANE_LOGS` as server-sent events. Without `?follow=true` the stream ends after the lines
 * stored when the request came in; with it, new lines follow until the backend has terminated and its
 * last line was sent (or the client leaves). Each event: `id: <seq>`, `data: <BackendLogEntry>`; a
 * reconnect with `Last-Event-ID: <seq>` resumes after that line. A normal end is announced with an
 * `end` event, so clients can tell it from a dropped connection.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BackendLogEntry, BackendRecord } from '@jetplane/protocol';
import { decodeJson, type BackendLogReader, type BackendStore } from '@jetplane/nats';
import { SSE_KEEPALIVE, SSE_KEEPALIVE_MS } from './status-stream.js';
import type { RouteOptions } from './http-routes.js';

export interface LogFeedOptions {
  follow: boolean;
  /** Resume after this stream sequence (0: from the oldest line kept). */
  afterSeq: number;
}

/** A backend's lines; the iteration ends by itself (see the module comment) or at `stop()`. */
export type LogFeed = AsyncIterable<BackendLogEntry> & { stop(): void };

export interface LogFeedDeps {
  reader: Pick<BackendLogReader, 'lastSeq' | 'open'>;
  backends: Pick<BackendStore, 'kv'>;
}

export async function openLogFeed(deps: LogFeedDeps, backendId: string, opts: LogFeedOptions): Promise<LogFeed> {
  // Without follow, "everything so far" is fixed now: lines arriving later are not waited for.
  let endAt: number | undefined = opts.follow ? undefined : await deps.reader.lastSeq(backendId);
  if (endAt !== undefined && endAt <= opts.afterSeq) return emptyFeed();
  const cursor = await deps.reader.open(backendId, opts.afterSeq);
  let last = opts.afterSeq;
  let stopped = false;
  let watch: { stop(): void } | undefined;
  if (opts.follow) {
    const w = await deps.backends.kv.watch({ key: backendId });
    watch = w;
    void (async () => {
      for await (const entry of w) {
        const ended = entry.operation !== 'PUT' || decodeJson<BackendRecord>(entry.value).state.status === 'terminated';
        if (!ended) continue;
        // The drone flushes a backend's output before recording `terminated`: this is its last line.
        endAt = await deps.reader.lastSeq(backendId).catch(() => last);
        if (last >= endAt) cursor.stop();
        break;
      }
    })().catch(() => undefined);
  }
  const stop = (): void => {
    stopped = true;
    cursor.stop();
    watch?.stop();
  };
  return {
    stop,
    async *[Symbol.asyncIterator]() {
      try {
        for await (const entry of cursor) {
          if (stopped) break;
          yield entry;
          last = entry.seq;
          if (endAt !== undefined && last >= endAt) break;
        }
      } finally {
        stop();
      }
    },
  };
}

function emptyFeed(): LogFeed {
  return { stop: () => undefined, async *[Symbol.asyncIterator]() {} };
}

export function formatLogEvent(entry: BackendLogEntry): string {
  return `id: ${entry.seq}\ndata: ${JSON.stringify(entry)}\n\n`;
}

export const LOG_END_EVENT = 'event: end\ndata: {}\n\n';

/** `?follow=true` (also `1`, `yes`, or a bare `?follow`). */
export function parseFollow(value: unknown): boolean {
  return typeof value === 'string' && ['', 'true', '1', 'yes'].includes(value.toLowerCase());
}

/** A `Last-Event-ID` that is a sequence number, else 0 (from the start). */
export function parseAfterSeq(header: string | string[] | undefined): number {
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  return /^[0-9]{1,15}$/.test(value) ? Number(value) : 0;
}

interface LogParams {
  cluster?: string;
  backend: string;
}

export function registerLogRoutes(app: FastifyInstance, opts: RouteOptions): void {
  for (const path of ['/ctrl/c/:cluster/b/:backend/logs', '/ctrl/b/:backend/logs']) {
    app.get<{ Params: LogParams; Querystring: { follow?: string } }>(path, (req, reply) => logStream(opts, req, reply));
  }
}

/** Errors before the stream starts (unknown backend → 404) go through the error handler. */
async function logStream(
  opts: RouteOptions,
  req: FastifyRequest<{ Params: LogParams; Querystring: { follow?: string } }>,
  reply: FastifyReply,
): Promise<void> {
  const feed = await opts.api.logs(req.params.backend, req.params.cluster, {
    follow: parseFollow(req.query.follow),
    afterSeq: parseAfterSeq(req.headers['last-event-id']),
  });
  reply.hijack();
  const res = reply.raw;
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  // Stopped from outside (client gone, server shutting down): not a complete stream.
  let interrupted = false;
  const stop = (): void => {
    interrupted = true;
    feed.stop();
  };
  opts.streams.add(stop);
  const keepAlive = setInterval(() => res.write(SSE_KEEPALIVE), opts.keepAliveMs ?? SSE_KEEPALIVE_MS);
  keepAlive.unref();
  res.once('close', stop);
  let complete = false;
  try {
    for await (const entry of feed) {
      if (res.destroyed) break;
      // A slow reader holds the feed back instead of piling lines up in memory.
      if (!res.write(formatLogEvent(entry))) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    complete = !res.destroyed && !interrupted;
  } catch (err) {
    opts.log.warn({ err, backend_id: req.params.backend }, 'log stream failed');
  } finally {
    clearInterval(keepAlive);
    opts.streams.delete(stop);
    feed.stop();
    if (!res.writableEnded) {
      if (complete) res.write(LOG_END_EVENT);
      res.end();
    }
  }
}
