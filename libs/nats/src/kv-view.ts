/**
 * Follow a KV bucket: the initial values, then every change, with a signal once caught up.
 *
 * Resilient to the loss of a NATS node: a KV watch rides on an ephemeral, single-replica consumer that
 * lives on one server. When that server dies the watch silently stops delivering (nats.js notices only
 * after two missed idle heartbeats, and re-creates later consumers with a 30 s heartbeat: a minute of
 * silence). So the watch's consumer is probed every second; when it cannot be reached twice in a row (or
 * the watch ends by itself) the watch is re-opened from the revision after the last one delivered (once
 * caught up; during the initial replay it starts over, so handlers must be idempotent, as they are when
 * they store the latest value per key).
 */
import type { KV, KvEntry, KvWatchEntry, KvWatchOptions } from '@nats-io/kv';

export interface BucketWatchHandlers {
  /** A value was put. */
  onPut(key: string, entry: KvEntry): void;
  /** A key was deleted or purged. */
  onDelete(key: string, entry: KvEntry): void;
}

export interface BucketWatch {
  /** Resolves once every value present at start has been delivered. */
  caughtUp: Promise<void>;
  stop(): void;
}

export interface BucketWatchOptions {
  /** How often the watch's consumer is probed (default 1 s; 0 disables the probe). */
  probeIntervalMs?: number;
  /** A probe not answered within this counts as a failure (default 1 s). */
  probeTimeoutMs?: number;
  /** Called when the watch is re-opened (for logs). */
  onReopen?(why: string, fromRevision: number): void;
}

type WatchIterator = AsyncIterable<KvWatchEntry> & { stop(): void };

/** The parts of nats.js's push consumer the probe uses (not public API: every field is checked). */
interface ConsumerLike {
  stream?: unknown;
  name?: unknown;
  api?: { nc?: { request?: (subject: string, data?: Uint8Array, opts?: { timeout: number }) => Promise<{ data: Uint8Array }> } };
  info?: () => Promise<unknown>;
}

const PROBE_FAILURES_BEFORE_REOPEN = 2;
const REOPEN_RETRY_MS = 500;

/** Whether the watch's consumer answers (true), cannot be reached or is gone (false), or cannot be probed (null). */
async function probe(iter: WatchIterator, timeoutMs: number): Promise<boolean | null> {
  const consumer = (iter as unknown as { _data?: ConsumerLike })._data;
  if (!consumer) return null;
  const request = consumer.api?.nc?.request?.bind(consumer.api.nc);
  if (request && typeof consumer.stream === 'string' && typeof consumer.name === 'string') {
    try {
      const reply = await request(`$JS.API.CONSUMER.INFO.${consumer.stream}.${consumer.name}`, new Uint8Array(0), { timeout: timeoutMs });
      const body = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: unknown };
      return body.error === undefined;
    } catch {
      return false;
    }
  }
  if (typeof consumer.info !== 'function') return null;
  try {
    await consumer.info();
    return true;
  } catch {
    return false;
  }
}

/** Watch `filter` (default all keys) of `kv`; handlers run synchronously in revision order. */
export async function watchBucket(kv: KV, handlers: BucketWatchHandlers, filter = '>', opts: BucketWatchOptions = {}): Promise<BucketWatch> {
  const probeIntervalMs = opts.probeIntervalMs ?? 1_000;
  const probeTimeoutMs = opts.probeTimeoutMs ?? 1_000;
  let resolveCaughtUp!: () => void;
  let isCaughtUp = false;
  const caughtUp = new Promise<void>((resolve) => (resolveCaughtUp = resolve));
  const markCaughtUp = (): void => {
    isCaughtUp = true;
    resolveCaughtUp();
  };
  const status = await kv.status();
  if (status.values === 0) markCaughtUp();
  let current: WatchIterator = await kv.watch({ key: filter });
  let stopped = false;
  let reopening = false;
  /** Highest revision handed to the handlers. */
  let lastRevision = 0;
  let failures = 0;

  // A filter matching nothing delivers no entry at all, so give up waiting after a moment, unless
  // entries start arriving: then the one with nothing pending after it marks the end of the replay.
  const emptyFilterTimer = filter === '>' ? undefined : setTimeout(markCaughtUp, 500);
  emptyFilterTimer?.unref();

  const follow = (iter: WatchIterator): void => {
    void (async () => {
      try {
        for await (const entry of iter) {
          clearTimeout(emptyFilterTimer);
          // Once caught up, entries come in revision order: anything not newer is a repeat (a re-opened
          // watch overlapping the old one's last deliveries).
          if (!isCaughtUp || entry.revision > lastRevision) {
            lastRevision = Math.max(lastRevision, entry.revision);
            if (entry.operation === 'PUT') handlers.onPut(entry.key, entry);
            else handlers.onDelete(entry.key, entry);
          }
          if (entry.delta === 0 || entry.isUpdate) markCaughtUp();
        }
      } catch {
        // handled below like an end
      }
      if (!stopped && iter === current) void reopen('the watch ended');
    })();
  };

  const reopen = async (why: string): Promise<void> => {
    if (reopening || stopped) return;
    reopening = true;
    failures = 0;
    const old = current;
    try {
      old.stop();
    } catch {
      // already stopped
    }
    while (!stopped) {
      // Resume after the last delivered revision once caught up; before that, replay everything again
      // (the initial replay is not in revision order).
      const resume = isCaughtUp && lastRevision > 0;
      const watchOpts: KvWatchOptions = resume ? { key: filter, resumeFromRevision: lastRevision + 1 } : { key: filter };
      try {
        const next = (await kv.watch(watchOpts)) as WatchIterator;
        if (stopped) {
          next.stop();
          break;
        }
        current = next;
        opts.onReopen?.(why, resume ? lastRevision + 1 : 0);
        follow(next);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, REOPEN_RETRY_MS));
      }
    }
    reopening = false;
  };

  follow(current);

  let probing = false;
  const timer =
    probeIntervalMs > 0
      ? setInterval(() => {
          if (probing || reopening || stopped) return;
          probing = true;
          void probe(current, probeTimeoutMs)
            .then((ok) => {
              if (ok === false) failures++;
              else failures = 0;
              if (failures >= PROBE_FAILURES_BEFORE_REOPEN) void reopen('the watch consumer cannot be reached');
            })
            .finally(() => (probing = false));
        }, probeIntervalMs)
      : undefined;
  timer?.unref();

  return {
    caughtUp,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      clearTimeout(emptyFilterTimer);
      current.stop();
    },
  };
}
