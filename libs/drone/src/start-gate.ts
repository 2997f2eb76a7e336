/**
 * Bounds how many backends of one drone are being started at once: process spawns, the first fast
 * probes and the backends' own startup all compete for the same CPUs, so a burst of spawns is better
 * served a few at a time than all at once. A backend waiting here is accepted (`loading`) and its key
 * lease is kept by the drone, however long the queue.
 */
export class StartGate {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /**
   * Wait for a slot, first come first served. Resolves with the function that gives it back (idempotent),
   * or null when `signal` aborted first (the slot is not taken then).
   */
  enter(signal: AbortSignal): Promise<(() => void) | null> {
    if (signal.aborted) return Promise.resolve(null);
    if (this.active < this.limit) return Promise.resolve(this.take());
    return new Promise((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', abandon);
        resolve(this.take());
      };
      const abandon = (): void => {
        const at = this.queue.indexOf(grant);
        if (at >= 0) this.queue.splice(at, 1);
        resolve(null);
      };
      this.queue.push(grant);
      signal.addEventListener('abort', abandon, { once: true });
    });
  }

  /** Backends holding a slot, and waiting for one. */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.queue.length };
  }

  private take(): () => void {
    this.active++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.active--;
      this.queue.shift()?.();
    };
  }
}
