/**
 * A started container as a `RunningBackend`: its output line by line, its resource use, terminate
 * (soft = `docker stop` with the grace period, hard = `docker kill`), and its end (the exit code from
 * Docker's `die` event, then the last output, then the container removed).
 */
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import type { TerminationKind } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import type { ExecutorHooks, ExitInfo, RunningBackend } from '../executor.js';
import { dockerMessage, isNothingToDo } from './docker-errors.js';
import { sampleFromDockerStats, type DockerStatsJson } from './docker-stats.js';
import { forEachLine } from './lines.js';

/** Docker calls that fail for other reasons than "nothing to do" are retried this many times. */
const CALL_ATTEMPTS = 5;
const REMOVE_TIMEOUT_MS = 10_000;

/**
 * Follow the container's stdout/stderr. Attached before the container starts so no line is lost,
 * and independent of the log driver. `ended` settles when Docker closes the stream (the container
 * stopped) or the attach failed.
 */
export async function attachOutput(container: Dockerode.Container, hooks: ExecutorHooks): Promise<{ ended: Promise<void>; close(): void }> {
  const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  container.modem.demuxStream(stream, stdout, stderr);
  forEachLine(stdout, (line) => hooks.onOutput('stdout', line));
  forEachLine(stderr, (line) => hooks.onOutput('stderr', line));
  const ended = new Promise<void>((resolve) => {
    const done = (): void => {
      stdout.end();
      stderr.end();
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
  return { ended, close: () => stream.destroy() };
}

/** Docker's stats stream (about one object a second) into `hooks.onStats`, until `stop()`. */
export async function followStats(
  container: Dockerode.Container,
  hooks: ExecutorHooks,
  memoryLimit: number | null,
  log: Logger,
): Promise<{ stop(): void }> {
  const onStats = hooks.onStats;
  if (!onStats) return { stop: () => undefined };
  try {
    const stream = (await container.stats({ stream: true })) as unknown as Readable;
    forEachLine(stream, (line) => {
      try {
        const sample = sampleFromDockerStats(JSON.parse(line) as DockerStatsJson, memoryLimit);
        if (sample) onStats(sample);
      } catch {
        // A malformed object is skipped; the next one comes a second later.
      }
    });
    return { stop: () => stream.destroy() };
  } catch (err) {
    log.debug({ err: dockerMessage(err) }, 'no resource stats for this container');
    return { stop: () => undefined };
  }
}

export interface RunningContainerInput {
  container: Dockerode.Container;
  address: string;
  /** Resolves with the exit code from Docker's events. */
  exit: Promise<number | null>;
  output: { ended: Promise<void>; close(): void };
  stats: { stop(): void };
  /** `docker stop -t`: SIGKILL this long after SIGTERM. */
  graceSeconds: number;
  /** How long to wait, after the exit, for the rest of the output. */
  outputFlushMs: number;
  log: Logger;
}

export function runningContainer(input: RunningContainerInput): RunningBackend {
  const { container, log } = input;
  let done = false;
  const exited = input.exit.then(async (exitCode): Promise<ExitInfo> => {
    done = true;
    // The output stream closes right after the exit; give the last lines a moment to arrive.
    await Promise.race([input.output.ended, sleep(input.outputFlushMs)]);
    input.output.close();
    input.stats.stop();
    await Promise.race([removeContainer(container, log), sleep(REMOVE_TIMEOUT_MS)]);
    return { exitCode, signal: null };
  });

  const call = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    for (let attempt = 1; attempt <= CALL_ATTEMPTS && !done; attempt++) {
      try {
        await fn();
        return;
      } catch (err) {
        if (isNothingToDo(err)) return;
        log.warn({ err: dockerMessage(err), attempt }, `docker ${what} failed`);
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
  };

  return {
    address: input.address,
    exited,
    terminate(kind: TerminationKind) {
      if (done) return;
      // `stop` returns only once the container is gone (up to the grace period): not awaited.
      if (kind === 'soft') void call('stop', () => container.stop({ t: input.graceSeconds }));
      else void call('kill', () => container.kill({ signal: 'SIGKILL' }));
    },
  };
}

/** Remove a container and its anonymous volumes; already gone (or going) is fine. */
export async function removeContainer(container: Dockerode.Container, log: Logger): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    if (!isNothingToDo(err)) log.warn({ err: dockerMessage(err), container: container.id }, 'cannot remove container');
  }
}
