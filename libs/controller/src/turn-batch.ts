/**
 * Starts tasks together, once per event-loop turn.
 *
 * Why, for HTTP connects: every HTTP request is parsed in its own socket callback, and the NATS client
 * flushes its outbound buffer after each callback, so each connect's first KV read cost its own write
 * on the NATS socket (and a read in nats-server). Requests that came over NATS are already started
 * together from one socket read and share one write. Starting the connects of one turn in a single
 * callback gives HTTP the same batching.
 */
export class TurnBatch {
  private queue: Array<() => void> = [];

  /** `task`'s result; `task` starts in the check phase of this turn, with the others queued in it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(this.startAll);
      this.queue.push(() => {
        try {
          task().then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private readonly startAll = (): void => {
    const queued = this.queue;
    this.queue = [];
    for (const start of queued) start();
  };
}
