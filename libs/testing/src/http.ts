/**
 * HTTP clients for tests, on `node:http` so a test controls every header exactly (a `Host` that
 * differs from the address, mixed-case names), plus a server-sent-events reader.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method?: string;
  /** Sent as given (name case preserved), e.g. `{ Host: 'localhost:9090', 'x-VERIFIED-evil': '1' }`. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-request deadline (ms). */
  timeoutMs?: number;
}

/** One request on a fresh connection (no keep-alive), body read to the end as UTF-8. */
export function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) {
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    }
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`${opts.method ?? 'GET'} ${url}: no complete response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Parse a response body as JSON, with the body in the error when it is not JSON. */
export function jsonOf<T = unknown>(res: HttpResponse): T {
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new Error(`expected a JSON body, got HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  }
}

export async function getJson<T = unknown>(url: string, timeoutMs?: number): Promise<{ status: number; body: T }> {
  const res = await httpRequest(url, timeoutMs === undefined ? {} : { timeoutMs });
  return { status: res.status, body: jsonOf<T>(res) };
}

export async function postJson<T = unknown>(url: string, body: unknown, opts: HttpRequestOptions = {}): Promise<{ status: number; body: T; raw: HttpResponse }> {
  const raw = await httpRequest(url, {
    method: 'POST',
    ...opts,
    headers: { 'Content-Type': 'application/json', ...opts.headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  return { status: raw.status, body: jsonOf<T>(raw), raw };
}

// ---------------------------------------------------------------------------------------------
// Server-sent events

export interface SseEvent {
  /** The `id:` field of this event (undefined when the event had none). */
  id: string | undefined;
  /** The `event:` field (default `message`). */
  event: string;
  /** `data:` lines joined with `\n`. */
  data: string;
}

export interface SseStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Whole body when the status is not 2xx (the stream is not read as events then). */
  body: string;
  /** Every event received so far, in order. */
  events: SseEvent[];
  /** Resolves when the server ends the stream (or it is closed). */
  ended: Promise<void>;
  isEnded(): boolean;
  /** First event (already received or still to come) matching `predicate`; rejects on timeout or end. */
  waitFor(predicate: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream within `timeoutMs`, else rejects. */
  waitForEnd(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Open an SSE stream; resolves once the response headers are in. */
export function openSse(url: string, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<SseStream> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined;
    const connectTimer = setTimeout(() => req?.destroy(new Error(`SSE ${url}: no response headers within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
    req = request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: 'GET',
        headers: { Accept: 'text/event-stream', ...opts.headers },
        agent: false,
      },
      (res) => {
        clearTimeout(connectTimer);
        resolve(sseFromResponse(res, () => req?.destroy()));
      },
    );
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(err);
    });
    req.end();
  });
}

interface EventWaiter {
  predicate: (e: SseEvent) => boolean;
  resolve(e: SseEvent): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

function sseFromResponse(res: IncomingMessage, destroy: () => void): SseStream {
  const status = res.statusCode ?? 0;
  const events: SseEvent[] = [];
  const waiters = new Set<EventWaiter>();
  let ended = false;
  let markEnded!: () => void;
  const endedPromise = new Promise<void>((resolve) => (markEnded = resolve));
  const stream: SseStream = {
    status,
    headers: res.headers,
    body: '',
    events,
    ended: endedPromise,
    isEnded: () => ended,
    waitFor(predicate, timeoutMs = 15_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      if (ended) return Promise.reject(new Error(`SSE stream ended without the awaited event; got ${describeEvents(events)}`));
      return new Promise<SseEvent>((resolve, reject) => {
        const w: EventWaiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(w);
            reject(new Error(`SSE: awaited event not received within ${timeoutMs} ms; got ${describeEvents(events)}`));
          }, timeoutMs),
        };
        waiters.add(w);
      });
    },
    async waitForEnd(timeoutMs = 10_000) {
      if (ended) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          endedPromise,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`SSE stream still open after ${timeoutMs} ms; got ${describeEvents(events)}`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      finish();
      destroy();
    },
  };

  function finish(): void {
    if (ended) return;
    ended = true;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`SSE stream ended without the awaited event; got ${describeEvents(events)}`));
    }
    waiters.clear();
    markEnded();
  }

  res.setEncoding('utf8');
  if (status < 200 || status >= 300) {
    res.on('data', (chunk: string) => (stream.body += chunk));
    res.on('end', finish);
    res.on('error', finish);
    res.on('close', finish);
    return stream;
  }

  let buffer = '';
  let id: string | undefined;
  let event = 'message';
  let data: string[] = [];
  const dispatch = (): void => {
    if (data.length > 0) {
      const e: SseEvent = { id, event, data: data.join('\n') };
      events.push(e);
      for (const w of [...waiters]) {
        if (w.predicate(e)) {
          clearTimeout(w.timer);
          waiters.delete(w);
          w.resolve(e);
        }
      }
    }
    id = undefined;
    event = 'message';
    data = [];
  };
  res.on('data', (chunk: string) => {
    buffer += chunk;
    // Bounded by the chunk: each iteration consumes one line.
    for (let nl = buffer.search(/\r\n|\r|\n/); nl !== -1; nl = buffer.search(/\r\n|\r|\n/)) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(buffer.startsWith('\r\n', nl) ? nl + 2 : nl + 1);
      if (line === '') {
        dispatch();
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'event') event = value;
    }
  });
  res.on('end', finish);
  res.on('error', finish);
  res.on('close', finish);
  return stream;
}

function describeEvents(events: SseEvent[]): string {
  if (events.length === 0) return 'no events';
  return events.map((e) => `[id=${e.id ?? ''} ${e.data.slice(0, 200)}]`).join(' ');
}
