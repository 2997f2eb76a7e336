/** Feeds a RouteTable from JetStream: watches of `r.>` in jetplane_tokens and all of jetplane_backends. */
import { TokenKeys, type BackendRecord, type TokenRecord } from '@jetplane/protocol';
import { decodeJson, watchBucket, type BucketWatch, type JetPlane, type KvEntry } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import type { RouteFetcher, RouteTable } from './route-table.js';

/** Direct KV reads for misses (a token used before the watch delivered it). */
export function natsFetcher(jp: JetPlane): RouteFetcher {
  // While disconnected a read would only time out (seconds later): fail at once, the client gets 503.
  const offline = (): Promise<never> => Promise.reject(new Error('NATS disconnected'));
  return {
    getToken: (hash) => (jp.isConnected() ? jp.tokens.getByHash(hash) : offline()),
    getBackend: (id) => (jp.isConnected() ? jp.backends.get(id) : offline()),
  };
}

export interface RouteFeed {
  /** Resolves once both buckets' current values are in the table (or after `maxCatchUpMs`). */
  caughtUp: Promise<void>;
  stop(): void;
}

/**
 * Tracks the initial replay of one watch by the entries' `delta` (messages still pending). Needed
 * because `watchBucket` signals a filtered watch as caught up after a fixed moment even while a large
 * replay is still running; here, once entries flow, we wait for the one with delta 0.
 */
class Replay {
  private seen = false;
  private done = false;
  private finish!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  saw(entry: KvEntry): void {
    this.seen = true;
    if (!this.done && entry.delta === 0) {
      this.done = true;
      this.finish();
    }
  }

  /** After the watch's own signal: nothing seen = nothing to replay; otherwise wait for the end. */
  async settled(watch: BucketWatch, maxMs: number): Promise<void> {
    await watch.caughtUp;
    if (!this.seen || this.done) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
    clearTimeout(timer);
  }
}

export async function feedFromNats(table: RouteTable, jp: JetPlane, log: Logger, maxCatchUpMs = 60_000): Promise<RouteFeed> {
  const prefix = TokenKeys.ROUTE_PREFIX.length;
  // A bad record must not kill the watch loop (handlers run inside it): log and skip it.
  const guard = (what: string, key: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.warn({ err, bucket: what, key: what === 'tokens' ? key.slice(0, prefix + 8) : key }, 'skipped an unreadable record');
    }
  };
  const tokenReplay = new Replay();
  const backendReplay = new Replay();
  const tokens = await watchBucket(
    jp.streams.tokens,
    {
      onPut: (key, entry) => {
        guard('tokens', key, () => table.putToken(key.slice(prefix), decodeJson<TokenRecord>(entry.value)));
        tokenReplay.saw(entry);
      },
      onDelete: (key, entry) => {
        table.deleteToken(key.slice(prefix));
        tokenReplay.saw(entry);
      },
    },
    TokenKeys.routeFilter,
    { onReopen: (why, from) => log.warn({ bucket: 'tokens', why, from_revision: from }, 'watch re-opened') },
  );
  let backends: BucketWatch;
  try {
    backends = await watchBucket(jp.streams.backends, {
      onPut: (key, entry) => {
        guard('backends', key, () => table.putBackend(decodeJson<BackendRecord>(entry.value), entry.revision));
        backendReplay.saw(entry);
      },
      onDelete: (key, entry) => {
        table.deleteBackend(key);
        backendReplay.saw(entry);
      },
    }, '>', { onReopen: (why, from) => log.warn({ bucket: 'backends', why, from_revision: from }, 'watch re-opened') });
  } catch (err) {
    tokens.stop();
    throw err;
  }
  return {
    caughtUp: Promise.all([tokenReplay.settled(tokens, maxCatchUpMs), backendReplay.settled(backends, maxCatchUpMs)]).then(() => undefined),
    stop: () => {
      tokens.stop();
      backends.stop();
    },
  };
}
