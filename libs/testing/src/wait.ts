/** Bounded waiting: every wait here has a deadline, and polling is only used where no event exists. */

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Delay between two polls (ms). */
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  description?: string;
}

/** A rejection-safe sleep, only for pacing polls. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown by a probe to end a {@link waitFor} at once: the awaited state can no longer happen. */
export class StopWaiting extends Error {
  override readonly name = 'StopWaiting';
}

/**
 * Poll `probe` until it returns a value other than `undefined`/`false`, or throw once `timeoutMs`
 * has passed. Exceptions thrown by the probe count as "not yet" (the last one is reported), except
 * {@link StopWaiting}, which is rethrown at once.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  // Bounded both in time and in count (a probe that returns instantly still cannot spin forever).
  const maxAttempts = Math.ceil(timeoutMs / Math.max(intervalMs, 1)) + 10;
  while (attempts++ < maxAttempts) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const what = opts.description ?? 'condition';
  const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError });
}

/** Reject with a clear message if `promise` does not settle within `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
