/** Typed HTTP client of the controller API (Plane 0.4 routes, JetPlane's error bodies). */
import { Agent, request, type Dispatcher } from 'undici';
import {
  Timing,
  isBackendStatus,
  statusRank,
  type BackendListing,
  type ConnectRequest,
  type ConnectResponse,
  type DrainResponse,
  type DroneListing,
  type ListQuery,
  type StatusEntry,
} from '@jetplane/protocol';
import { JetPlaneClientError, errorFromResponse } from './errors.js';
import { SseDecoder } from './sse.js';
import type { ControlApi } from './api.js';

export interface ReconnectOptions {
  /** First delay after a dropped stream (default 250 ms); doubles on each failure. */
  initialDelayMs?: number;
  /** Largest delay between two attempts (default 5 s). */
  maxDelayMs?: number;
  /** Consecutive failed attempts before giving up (default 20); reset by every event received. */
  maxAttempts?: number;
}

export interface JetPlaneClientOptions {
  /** Base URL of a controller, e.g. `http://127.0.0.1:8080`. A user part becomes `Authorization: Bearer <user>`. */
  controller: string;
  /** Time allowed for an answer (headers and body) to an ordinary call. Default {@link Timing.requestTimeoutMs}. */
  timeoutMs?: number;
  /** Extra headers on every call. */
  headers?: Record<string, string>;
  /** undici dispatcher to use; by default the client owns an `Agent`, closed by {@link JetPlaneClient.close}. */
  dispatcher?: Dispatcher;
  /** Reconnection of the status stream. */
  reconnect?: ReconnectOptions;
}

export interface StatusStreamOptions {
  /** Use the `/c/:cluster/` form of the route (both forms are served). */
  cluster?: string | null;
  /** Resume after this event id (sent as `Last-Event-ID`). */
  lastEventId?: string;
  /** Ends the iteration (quietly) when aborted. */
  signal?: AbortSignal;
  /**
   * Silence after which the stream is taken for dead, dropped and reopened. Default 60 s: controllers
   * send a keep-alive comment every 15 s. 0 disables it.
   */
  idleTimeoutMs?: number;
  /** Called with each event's id, e.g. to persist it for a later `lastEventId`. */
  onEventId?: (id: string) => void;
}

/** One event of the status stream with its SSE id. */
export interface StatusStreamEvent {
  id: string | undefined;
  entry: StatusEntry;
}

export interface HealthResult {
  ok: boolean;
  status: number;
  body: unknown;
}

type Query = Partial<Record<string, string | number | boolean | undefined | null>>;

interface CallOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

const seg = (s: string): string => encodeURIComponent(s);

/** Whether `next` is news after `prev` on a status stream (forward only; soft → hard escalation counts). */
export function isNewerStatus(prev: StatusEntry | undefined, next: StatusEntry): boolean {
  if (!prev) return true;
  const a = statusRank(prev.status);
  const b = statusRank(next.status);
  if (b !== a) return b > a;
  return next.status === 'terminating' && prev.termination_kind === 'soft' && next.termination_kind === 'hard';
}

/** A status entry from JSON text, or `undefined` if it is not one. */
export function parseStatusEntry(data: string): StatusEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isBackendStatus(v.status)) return undefined;
  return { ...(v as object), status: v.status, time: typeof v.time === 'number' ? v.time : Date.now() } as StatusEntry;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export class JetPlaneClient implements ControlApi {
  readonly baseUrl: URL;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly reconnect: Required<ReconnectOptions>;

  constructor(options: JetPlaneClientOptions | string) {
    const opts = typeof options === 'string' ? { controller: options } : options;
    let url: URL;
    try {
      url = new URL(opts.controller);
    } catch {
      throw new TypeError(`invalid controller URL: ${opts.controller}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`invalid controller URL (http or https expected): ${opts.controller}`);
    }
    this.headers = { ...opts.headers };
    if (url.username) this.headers.authorization ??= `Bearer ${decodeURIComponent(url.username)}`;
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    this.baseUrl = url;
    this.timeoutMs = opts.timeoutMs ?? Timing.requestTimeoutMs;
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 4_000, connect: { timeout: this.timeoutMs } });
    this.reconnect = {
      initialDelayMs: opts.reconnect?.initialDelayMs ?? 250,
      maxDelayMs: opts.reconnect?.maxDelayMs ?? 5_000,
      maxAttempts: opts.reconnect?.maxAttempts ?? 20,
    };
  }

  /** `POST /ctrl/connect`: get or create the backend for a key and a token for it. */
  connect(req: ConnectRequest, opts?: { signal?: AbortSignal }): Promise<ConnectResponse> {
    return this.call<ConnectResponse>('POST', 'ctrl/connect', { body: req, signal: opts?.signal });
  }

  /** `GET /pub[/c/:cluster]/b/:backend/status`. */
  status(backendId: string, cluster?: string | null, opts?: { signal?: AbortSignal }): Promise<StatusEntry> {
    return this.call<StatusEntry>('GET', `pub/${this.clusterPart(cluster)}b/${seg(backendId)}/status`, { signal: opts?.signal });
  }

  /**
   * `GET /pub[/c/:cluster]/b/:backend/status-stream`: every status of the backend from the first, then live
   * ones; ends after `terminated`. A dropped connection is reopened with `Last-Event-ID` (bounded
   * exponential backoff); statuses are never repeated. Throws {@link JetPlaneClientError} for an error
   * answer (e.g. 404 `NotFound`) or when the controller stays unreachable.
   */
  async *statusStream(backendId: string, opts: StatusStreamOptions = {}): AsyncGenerator<StatusEntry, void, undefined> {
    for await (const { entry } of this.statusEvents(backendId, opts)) yield entry;
  }

  /** {@link statusStream} with each event's SSE id. */
  async *statusEvents(backendId: string, opts: StatusStreamOptions = {}): AsyncGenerator<StatusStreamEvent, void, undefined> {
    const path = `pub/${this.clusterPart(opts.cluster)}b/${seg(backendId)}/status-stream`;
    const signal = opts.signal;
    let lastEventId = opts.lastEventId;
    let last: StatusEntry | undefined;
    let failures = 0;
    let lastError: unknown;
    while (!signal?.aborted) {
      if (failures > 0) {
        if (failures > this.reconnect.maxAttempts) {
          throw lastError instanceof JetPlaneClientError
            ? lastError
            : new JetPlaneClientError(0, undefined, `status stream of ${backendId}: ${describeCause(lastError)}`, { cause: lastError });
        }
        const base = Math.min(this.reconnect.maxDelayMs, this.reconnect.initialDelayMs * 2 ** (failures - 1));
        await sleep(base * (0.8 + Math.random() * 0.4), signal);
        if (signal?.aborted) return;
      }
      const headers: Record<string, string> = { ...this.headers, accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(this.url(path), {
          method: 'GET',
          headers,
          dispatcher: this.dispatcher,
          signal,
          headersTimeout: this.timeoutMs,
          bodyTimeout: opts.idleTimeoutMs ?? 60_000,
        });
      } catch (err) {
        if (signal?.aborted) return;
        failures++;
        lastError = this.networkError(err);
        continue;
      }
      if (res.statusCode >= 300) {
        const text = await res.body.text().catch(() => '');
        const error = errorFromResponse(res.statusCode, text);
        if (!isRetryableStatus(res.statusCode)) throw error;
        failures++;
        lastError = error;
        continue;
      }
      const connectedAt = Date.now();
      const dropped = (): void => {
        // A connection that lived a while (then an idle timeout, a proxy, a restart) starts the backoff
        // afresh; only quick successive failures count towards giving up.
        failures = Date.now() - connectedAt > 30_000 ? 1 : failures + 1;
      };
      const decoder = new SseDecoder();
      if (lastEventId !== undefined) decoder.parser.lastEventId = lastEventId;
      try {
        for await (const chunk of res.body) {
          for (const event of decoder.push(chunk as Uint8Array)) {
            if (event.id !== undefined && event.id !== lastEventId) {
              lastEventId = event.id;
              opts.onEventId?.(event.id);
            }
            const entry = parseStatusEntry(event.data);
            if (!entry) continue;
            failures = 0;
            if (!isNewerStatus(last, entry)) continue;
            last = entry;
            yield { id: event.id, entry };
            if (entry.status === 'terminated') return;
          }
        }
        decoder.end();
        // The server ended the stream before `terminated` (restart, load balancer): reopen it.
        dropped();
        lastError = new JetPlaneClientError(0, undefined, 'the status stream ended before the backend terminated');
      } catch (err) {
        if (signal?.aborted) return;
        dropped();
        lastError = this.networkError(err);
      } finally {
        if (!res.body.destroyed) res.body.destroy();
      }
    }
  }

  /** `POST /ctrl[/c/:cluster]/b/:backend/soft-terminate`. */
  async softTerminate(cluster: string | null | undefined, backendId: string, opts?: { signal?: AbortSignal }): Promise<void> {
    await this.call('POST', `ctrl/${this.clusterPart(cluster)}b/${seg(backendId)}/soft-terminate`, { signal: opts?.signal });
  }

  /** `POST /ctrl[/c/:cluster]/b/:backend/hard-terminate`. */
  async hardTerminate(cluster: string | null | undefined, backendId: string, opts?: { signal?: AbortSignal }): Promise<void> {
    await this.call('POST', `ctrl/${this.clusterPart(cluster)}b/${seg(backendId)}/hard-terminate`, { signal: opts?.signal });
  }

  /** Soft or hard terminate. */
  terminate(cluster: string | null | undefined, backendId: string, hard = false, opts?: { signal?: AbortSignal }): Promise<void> {
    return hard ? this.hardTerminate(cluster, backendId, opts) : this.softTerminate(cluster, backendId, opts);
  }

  /** `POST /ctrl/c/:cluster/d/:drone/drain`: `{updated}` is false when it was already draining. */
  async drain(cluster: string, drone: string, opts?: { signal?: AbortSignal }): Promise<DrainResponse> {
    const res = await this.call<DrainResponse | null>('POST', `ctrl/c/${seg(cluster)}/d/${seg(drone)}/drain`, { signal: opts?.signal });
    return { updated: Boolean(res?.updated) };
  }

  /** `GET /ctrl/drones?cluster=&pool=&state=`. */
  async listDrones(query: ListQuery = {}, opts?: { signal?: AbortSignal }): Promise<DroneListing[]> {
    return unwrapList<DroneListing>(await this.call('GET', 'ctrl/drones', { query, signal: opts?.signal }), 'drones');
  }

  /** `GET /ctrl/backends?cluster=&pool=&state=`. */
  async listBackends(query: ListQuery = {}, opts?: { signal?: AbortSignal }): Promise<BackendListing[]> {
    return unwrapList<BackendListing>(await this.call('GET', 'ctrl/backends', { query, signal: opts?.signal }), 'backends');
  }

  /** `GET /healthz`: 200 when the controller is connected to NATS, 503 otherwise. */
  async healthz(opts?: { signal?: AbortSignal }): Promise<HealthResult> {
    const { status, text } = await this.send('GET', 'healthz', { signal: opts?.signal });
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text
    }
    return { ok: status >= 200 && status < 300, status, body };
  }

  /** Release the connections this client owns. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close().catch(() => undefined);
  }

  private clusterPart(cluster: string | null | undefined): string {
    return cluster ? `c/${seg(cluster)}/` : '';
  }

  private url(path: string, query?: Query): string {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  private networkError(err: unknown): JetPlaneClientError {
    if (err instanceof JetPlaneClientError) return err;
    return new JetPlaneClientError(0, undefined, `cannot reach the controller at ${this.baseUrl.origin}: ${describeCause(err)}`, {
      cause: err,
    });
  }

  private async send(method: 'GET' | 'POST', path: string, opts: CallOptions = {}): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    try {
      const res = await request(this.url(path, opts.query), {
        method,
        headers,
        body,
        dispatcher: this.dispatcher,
        signal: opts.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw this.networkError(err);
    }
  }

  private async call<T>(method: 'GET' | 'POST', path: string, opts: CallOptions = {}): Promise<T> {
    const { status, text } = await this.send(method, path, opts);
    if (status >= 400) throw errorFromResponse(status, text);
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new JetPlaneClientError(status, undefined, `unexpected answer from ${method} /${path}: not JSON`);
    }
  }
}

function unwrapList<T>(value: unknown, field: string): T[] {
  if (Array.isArray(value)) return value as T[];
  if (typeof value === 'object' && value !== null) {
    const inner = (value as Record<string, unknown>)[field];
    if (Array.isArray(inner)) return inner as T[];
  }
  throw new JetPlaneClientError(200, undefined, `unexpected answer: expected a list of ${field}`);
}

/** A short, readable cause of a network failure. */
export function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const inner = (err as { cause?: unknown }).cause;
    const msg = err.message || (typeof code === 'string' ? code : err.name);
    if (inner instanceof Error && inner.message && !msg.includes(inner.message)) return `${msg} (${inner.message})`;
    return msg;
  }
  return String(err);
}
