/** Keeps the drone's work consumer running for the drone's lifetime. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkQueue } from '@jetplane/nats';
import type { DroneWork } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';

const RESTART_DELAY_MS = 1_000;

export interface WorkLoop {
  /** Stop consuming; resolves once the message being handled (if any) is done. */
  stop(): Promise<void>;
}

/**
 * Start consuming (a failure here is the caller's). Should the consumer end while the drone lives
 * (consumer deleted, stream recreated), it is opened again rather than leaving the drone deaf.
 */
export async function startWorkLoop(
  queue: Pick<WorkQueue, 'consume'>,
  drone: string,
  handler: (work: DroneWork) => Promise<void>,
  log: Logger,
): Promise<WorkLoop> {
  let stopped = false;
  let current = await queue.consume(drone, handler);
  const loop = (async () => {
    for (;;) {
      await current.done.catch((err: unknown) => log.error({ err }, 'work consumer failed'));
      if (stopped) return;
      log.warn('work consumer ended; reopening');
      for (;;) {
        await sleep(RESTART_DELAY_MS);
        if (stopped) return;
        try {
          current = await queue.consume(drone, handler);
          break;
        } catch (err) {
          log.warn({ err }, 'could not reopen the work consumer');
        }
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      current.stop();
      await loop;
    },
  };
}
