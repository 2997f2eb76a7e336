/** The client commands over NATS (`--nats`): request-reply to the controllers, KV reads for the rest. */
import {
  connectNats,
  decodeBackend,
  decodeJson,
  encodeJson,
  openJetPlane,
  type JetPlane,
  type NatsHandle,
} from '@jetplane/nats';
import { JetPlaneClientError, fromNatsReply, isNewerStatus, type ControlApi, type StatusStreamOptions } from '@jetplane/client';
import {
  Subjects,
  Timing,
  type BackendListing,
  type BackendRecord,
  type BackendState,
  type ConnectRequest,
  type ConnectResponse,
  type DrainResponse,
  type DroneListing,
  type DroneRecord,
  type ListQuery,
  type StatusEntry,
  type TerminateRequest,
} from '@jetplane/protocol';
import { withTimeout } from './util.js';

export interface NatsApiOptions {
  servers: string[];
  /** Replicas of JetPlane's streams and buckets (must match the components' `--nats-replicas`). */
  replicas: number;
  timeoutMs?: number;
}

/** A status API entry from a stored backend state (same shape as `GET /pub/.../status`). */
export function statusEntryOf(state: BackendState): StatusEntry {
  const entry: StatusEntry = { status: state.status, time: state.time };
  if (state.termination_reason) entry.termination_reason = state.termination_reason;
  if (state.termination_kind) entry.termination_kind = state.termination_kind;
  if (state.status === 'terminated') {
    entry.exit_code = state.exit_code ?? null;
    entry.exit_error = state.exit_code !== undefined && state.exit_code !== null && state.exit_code !== 0;
  }
  return entry;
}

function matches(query: ListQuery, fields: { cluster: string; pool: string; state: string }): boolean {
  if (query.cluster && query.cluster !== fields.cluster) return false;
  if (query.pool !== undefined && query.pool !== '' && query.pool !== fields.pool) return false;
  if (query.state && query.state !== fields.state) return false;
  return true;
}

export class NatsControlApi implements ControlApi {
  private handle: Promise<NatsHandle> | undefined;
  private jetplane: Promise<JetPlane> | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: NatsApiOptions) {
    this.timeoutMs = opts.timeoutMs ?? Timing.requestTimeoutMs;
  }

  private unreachable(): string {
    return `cannot reach NATS at ${this.opts.servers.join(',')} within ${this.timeoutMs / 1000} s`;
  }

  private nats(): Promise<NatsHandle> {
    this.handle ??= connectNats({ servers: this.opts.servers, name: 'jetplane-cli' });
    return withTimeout(this.handle, this.timeoutMs, this.unreachable());
  }

  private js(): Promise<JetPlane> {
    this.jetplane ??= openJetPlane({ servers: this.opts.servers, name: 'jetplane-cli', replicas: this.opts.replicas });
    return withTimeout(this.jetplane, this.timeoutMs, this.unreachable());
  }

  private async request<T>(subject: string, body: unknown): Promise<T> {
    const { nc } = await this.nats();
    try {
      const msg = await nc.request(subject, encodeJson(body), { timeout: this.timeoutMs });
      return fromNatsReply<T>(msg.data.length ? decodeJson<unknown>(msg.data) : null);
    } catch (err) {
      if (err instanceof JetPlaneClientError) throw err;
      const e = err as Error & { cause?: Error };
      if (e.cause?.name === 'NoResponders' || /no responders/i.test(e.message)) {
        throw new JetPlaneClientError(0, undefined, `no controller answers on ${subject}`, { cause: err });
      }
      if (e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') {
        throw new JetPlaneClientError(0, undefined, `no answer on ${subject} within ${this.timeoutMs} ms`, { cause: err });
      }
      throw err;
    }
  }

  connect(req: ConnectRequest): Promise<ConnectResponse> {
    return this.request<ConnectResponse>(Subjects.connect, req);
  }

  async terminate(cluster: string | null | undefined, backendId: string, hard = false): Promise<void> {
    const req: TerminateRequest = { backend_id: backendId, hard };
    if (cluster) req.cluster = cluster;
    await this.request<unknown>(Subjects.terminate, req);
  }

  async drain(cluster: string, drone: string): Promise<DrainResponse> {
    const res = await this.request<DrainResponse | null>(Subjects.drain, { cluster, drone });
    return { updated: Boolean(res?.updated) };
  }

  private async record(backendId: string, cluster?: string | null): Promise<BackendRecord> {
    const jp = await this.js();
    const found = await jp.backends.get(backendId);
    if (!found || (cluster && found.value.cluster !== cluster)) {
      throw new JetPlaneClientError(404, { id: '', kind: 'NotFound', message: 'Backend does not exist' });
    }
    return found.value;
  }

  async status(backendId: string, cluster?: string | null): Promise<StatusEntry> {
    return statusEntryOf((await this.record(backendId, cluster)).state);
  }

  /** The backend's KV history then live changes: the same source as the controller's SSE stream. */
  async *statusStream(backendId: string, opts: StatusStreamOptions = {}): AsyncGenerator<StatusEntry, void, undefined> {
    await this.record(backendId, opts.cluster);
    const jp = await this.js();
    const watch = await jp.backends.watchHistory(backendId);
    const onAbort = (): void => watch.stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let last: StatusEntry | undefined;
    try {
      for await (const kvEntry of watch) {
        if (kvEntry.operation !== 'PUT') continue;
        const entry = statusEntryOf(decodeBackend(kvEntry).state);
        if (!isNewerStatus(last, entry)) continue;
        last = entry;
        yield entry;
        if (entry.status === 'terminated') return;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      watch.stop();
    }
  }

  async listDrones(query: ListQuery = {}): Promise<DroneListing[]> {
    const jp = await this.js();
    const kv = jp.drones.kv;
    const out: DroneListing[] = [];
    const now = Date.now();
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const d = decodeJson<DroneRecord>(entry.value);
      if (!matches(query, { cluster: d.cluster, pool: d.pool, state: d.state })) continue;
      // The drone's clock: an approximation of what the controller measures with its own.
      const ageMs = Math.max(0, now - d.heartbeat_at);
      out.push({
        name: d.name,
        cluster: d.cluster,
        pool: d.pool,
        state: d.state,
        healthy: d.state !== 'stopped' && ageMs < Timing.droneUnhealthyAfterMs,
        executors: d.executors,
        backends: d.backends,
        max_backends: d.max_backends,
        last_heartbeat_age_ms: ageMs,
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async listBackends(query: ListQuery = {}): Promise<BackendListing[]> {
    const jp = await this.js();
    const kv = jp.backends.kv;
    const out: BackendListing[] = [];
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const b = decodeBackend(entry);
      if (!matches(query, { cluster: b.cluster, pool: b.pool, state: b.state.status })) continue;
      const row: BackendListing = {
        id: b.id,
        cluster: b.cluster,
        pool: b.pool,
        drone: b.drone,
        status: b.state.status,
        key: { namespace: b.key.namespace, name: b.key.name },
        created_at: b.created_at,
        status_time: b.state.time,
      };
      if (b.state.termination_reason) row.termination_reason = b.state.termination_reason;
      if (b.state.termination_kind) row.termination_kind = b.state.termination_kind;
      if (b.state.status === 'terminated') row.exit_code = b.state.exit_code ?? null;
      out.push(row);
    }
    return out.sort((a, b) => a.created_at - b.created_at);
  }

  async close(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    if (this.handle) closing.push(this.handle.then((h) => h.close()).catch(() => undefined));
    if (this.jetplane) closing.push(this.jetplane.then((j) => j.close()).catch(() => undefined));
    // A connection still waiting for its first server never settles: do not wait for it.
    await withTimeout(Promise.all(closing), 2_000, 'close').catch(() => undefined);
  }
}
