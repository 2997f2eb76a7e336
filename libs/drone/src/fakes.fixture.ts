/** In-memory stand-ins for the NATS stores and an executor, for unit tests (not part of the build). */
import { createServer, type Server } from 'node:net';
import { hashToken } from '@jetplane/nats';
import { isForwardTransition, spawnWorkOf, type SpawnWork, type BackendRecord, type BackendState, type JetPlaneEvent, type TerminationKind } from '@jetplane/protocol';
import { createLogger } from '@jetplane/observability';
import type { DroneStores } from './cleanup.js';
import type { BackendSpec, Executor, ExecutorHooks, ExitInfo, RunningBackend, StartResult } from './executor.js';

export const silentLog = createLogger({ component: 'test', level: 'silent' });

/** A spawn for backend `id`, as the controller would send it for {@link backendRecord}(id). */
export function spawnWork(id: string): SpawnWork {
  return spawnWorkOf(backendRecord(id));
}

export function backendRecord(id: string, overrides: Partial<BackendRecord> = {}): BackendRecord {
  return {
    id,
    cluster: 'localhost:9090',
    pool: '',
    drone: 'dr-test',
    key: { namespace: '', name: `key-${id}`, tag: '' },
    executable: { command: ['node', 'server.js'] },
    state: { status: 'scheduled', time: 1 },
    static_token: null,
    subdomain: null,
    lifetime_limit_seconds: null,
    max_idle_seconds: null,
    fencing_token: 42,
    created_at: 1,
    ...overrides,
  };
}

export class FakeStores {
  readonly records = new Map<string, { value: BackendRecord; revision: number }>();
  readonly history = new Map<string, BackendState[]>();
  readonly tokens = new Map<string, string[]>();
  readonly keysHeld = new Map<string, string>();
  readonly events: Array<{ event: JetPlaneEvent; msgId: string | undefined }> = [];
  /** Make the next N store calls fail like a NATS timeout. */
  failures = 0;
  private revision = 0;

  add(record: BackendRecord, tokens: string[] = []): void {
    this.records.set(record.id, { value: record, revision: ++this.revision });
    this.history.set(record.id, [record.state]);
    this.tokens.set(record.id, tokens.map(hashToken));
    this.keysHeld.set(`${record.key.namespace}/${record.key.name}`, record.id);
  }

  statuses(id: string): string[] {
    return (this.history.get(id) ?? []).map((s) => (s.status === 'terminating' ? `terminating:${s.termination_kind}` : s.status));
  }

  state(id: string): BackendState | undefined {
    return this.records.get(id)?.value.state;
  }

  private maybeFail(): void {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('TIMEOUT');
    }
  }

  readonly backends: DroneStores['backends'] = {
    get: async (id) => {
      this.maybeFail();
      return this.records.get(id) ?? null;
    },
    transition: async (id, next) => {
      this.maybeFail();
      const current = this.records.get(id);
      if (!current) return undefined;
      const state = next(current.value);
      if (!state || !isForwardTransition(current.value.state, state)) return undefined;
      const after = { ...current.value, state };
      this.records.set(id, { value: after, revision: ++this.revision });
      this.history.get(id)?.push(state);
      return { before: current.value, after };
    },
  };

  readonly tokenStore: DroneStores['tokens'] = {
    revokeBackend: async (id) => {
      this.maybeFail();
      const hashes = this.tokens.get(id) ?? [];
      this.tokens.set(id, []);
      return hashes;
    },
  };

  readonly keys: DroneStores['keys'] = {
    releaseIfHeldBy: async (namespace, name, backendId) => {
      this.maybeFail();
      const k = `${namespace}/${name}`;
      if (this.keysHeld.get(k) !== backendId) return false;
      this.keysHeld.delete(k);
      return true;
    },
  };

  readonly eventsPublisher: DroneStores['events'] = {
    publish: async (event, msgId) => {
      this.maybeFail();
      this.events.push({ event, msgId });
    },
  };

  /** The shape the drone code takes. */
  get stores(): DroneStores {
    return { backends: this.backends, tokens: this.tokenStore, keys: this.keys, events: this.eventsPublisher };
  }
}

/** A backend whose life the test controls. `softExits`: whether SIGTERM ends it. */
export class FakeBackend implements RunningBackend {
  readonly signals: TerminationKind[] = [];
  readonly exited: Promise<ExitInfo>;
  private resolveExit!: (info: ExitInfo) => void;
  private done = false;

  constructor(
    readonly address: string,
    private readonly softExits = true,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  exit(info: ExitInfo): void {
    if (this.done) return;
    this.done = true;
    this.resolveExit(info);
  }

  terminate(kind: TerminationKind): void {
    if (this.done) return;
    this.signals.push(kind);
    if (kind === 'hard') this.exit({ exitCode: null, signal: 'SIGKILL' });
    else if (this.softExits) this.exit({ exitCode: 0, signal: null });
  }
}

export class FakeExecutor implements Executor {
  readonly kind = 'process' as const;
  readonly specs: BackendSpec[] = [];
  readonly backends: FakeBackend[] = [];
  /** What the next start does. */
  outcome: { fail?: string; address?: string; softExits?: boolean; beforeStart?: () => Promise<void> } = {};

  async start(spec: BackendSpec, hooks: ExecutorHooks): Promise<StartResult> {
    this.specs.push(spec);
    hooks.onPhase('starting');
    await this.outcome.beforeStart?.();
    if (spec.signal.aborted) return { ok: false, error: { kind: 'aborted' } };
    if (this.outcome.fail) return { ok: false, error: { kind: 'failed', message: this.outcome.fail } };
    const backend = new FakeBackend(this.outcome.address ?? '127.0.0.1:1', this.outcome.softExits ?? true);
    this.backends.push(backend);
    return { ok: true, backend };
  }
}

/** A TCP server on 127.0.0.1:0 that answers like HTTP (or with `reply`). */
export async function tcpServer(reply: string | null = 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'): Promise<{ server: Server; address: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (reply !== null) socket.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    server,
    address: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
