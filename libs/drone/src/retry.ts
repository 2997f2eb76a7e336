/** Bounded retries with exponential backoff for NATS writes that must eventually happen. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@jetplane/observability';

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** About 20 s in total: long enough to ride out a NATS reconnect, short enough for a shutdown. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ attempts: 8, initialDelayMs: 100, maxDelayMs: 5_000 });

export type Attempted<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Run `fn` until it resolves or the attempts are used up. Never rejects. */
export async function withRetry<T>(
  what: string,
  fn: () => Promise<T>,
  opts: { policy?: RetryPolicy; log?: Logger } = {},
): Promise<Attempted<T>> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  let delay = policy.initialDelayMs;
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      lastError = err;
      if (attempt === policy.attempts) break;
      opts.log?.warn({ err, attempt, what }, 'retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
  opts.log?.error({ err: lastError, what, attempts: policy.attempts }, 'giving up');
  return { ok: false, error: lastError };
}
