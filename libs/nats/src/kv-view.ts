/** Follow a KV bucket: the initial values, then every change, with a signal once caught up. */
import type { KV, KvEntry } from '@nats-io/kv';

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

/** Watch `filter` (default all keys) of `kv`; handlers run synchronously in revision order. */
export async function watchBucket(kv: KV, handlers: BucketWatchHandlers, filter = '>'): Promise<BucketWatch> {
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const status = await kv.status();
  if (status.values === 0) markCaughtUp();
  const iter = await kv.watch({ key: filter });
  // A filter matching nothing delivers no entry at all, so give up waiting after a moment, unless
  // entries start arriving: then the one with nothing pending after it marks the end of the replay.
  const emptyFilterTimer = filter === '>' ? undefined : setTimeout(markCaughtUp, 500);
  emptyFilterTimer?.unref();
  void (async () => {
    for await (const entry of iter) {
      clearTimeout(emptyFilterTimer);
      if (entry.operation === 'PUT') handlers.onPut(entry.key, entry);
      else handlers.onDelete(entry.key, entry);
      if (entry.delta === 0 || entry.isUpdate) markCaughtUp();
    }
  })();
  return { caughtUp, stop: () => iter.stop() };
}
